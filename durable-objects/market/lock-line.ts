import { Client, type QueryResult } from "@neondatabase/serverless";
import { NeonDatabase, NeonSession } from "drizzle-orm/neon-serverless";
import { PgDialect } from "drizzle-orm/pg-core";
import { configureNeon, keptConnectionUrl, type Database, type DatabaseConfig } from "../../src/db/client";
import { isPostgresReply } from "../../src/db/pg-errors";

const dialect = new PgDialect();

/** The intake's wait for a lock (order-intake.ts): a statement out longer gives the connection up. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Nothing out this long closes the connection (a Neon connection per market, a kept WebSocket). */
const IDLE_CLOSE_MS = 10_000;

/**
 * The funds locks' Postgres connection: ONE kept connection (the direct one when configured:
 * `keptConnectionUrl`), so the locks reach Postgres in the order they were asked for, however
 * many are waiting (a Pool would open another connection for a lock asked while one is out,
 * and Postgres could run the later one first). node-postgres
 * writes a statement at once when the connection is idle, else once the one before it is
 * answered (never pipelined: over the pooled URL, PgBouncer 1.18 in transaction mode, the local
 * stack's, hands a statement written while another is out to another server connection
 * half-way, and Postgres answers "bind message supplies 33 parameters, but prepared statement ""
 * requires 7").
 *
 * Writes are not coalesced on this socket (the driver would send them on a zero timer): a
 * statement written is with the WebSocket, and workerd's output gate holds a message only for
 * the storage writes made before it was sent (`sent()`). A statement unanswered 10 s after it
 * was written or a lost connection drops the connection (what is still out on it fails); an
 * error Postgres answered with (a failed statement, a lock_timeout) keeps it. 10 s with nothing
 * out closes it. The next call opens another.
 */
export class LockLine {
  private client?: Client;
  /** Settles when the last statement asked on `client` is: the next one is written then. */
  private last: Promise<void> = Promise.resolve();
  /** `use` calls not settled, and the idle close armed when none is. */
  private out = 0;
  private idle?: ReturnType<typeof setTimeout>;
  /** `use` calls whose statement is not written yet, and who waits for them. */
  private unsent = 0;
  private whenSent: (() => void)[] = [];

  constructor(
    private readonly config: DatabaseConfig,
    private readonly timing = { answerMs: ANSWER_TIMEOUT_MS, idleMs: IDLE_CLOSE_MS },
  ) {}

  /** `fn` runs ONE statement on the line (drizzle's `execute`); a lost answer drops the connection. */
  async use<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    let unsent = false;
    const written = () => {
      if (!unsent) return;
      unsent = false;
      if (--this.unsent === 0) for (const resolve of this.whenSent.splice(0)) resolve();
    };
    clearTimeout(this.idle);
    this.out++;
    let settled = false;
    let answered = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    let client: Client | undefined;
    try {
      client = this.open();
      // Counted once the connection exists: an open that throws must not leave `sent()` waiting.
      this.unsent++;
      unsent = true;
      // Written only once the statements before it are answered: its time starts then.
      const ahead = this.last;
      this.last = new Promise((resolve) => (answered = resolve));
      const on = client;
      void ahead.then(() => {
        if (!settled) timer = setTimeout(() => this.drop(on), this.timing.answerMs);
      });
      const session = new NeonSession(
        this.queryable(client, written) as unknown as Client,
        dialect,
        undefined,
      );
      return await fn(new NeonDatabase(dialect, session, undefined) as Database);
    } catch (err) {
      // Postgres's own error reply leaves the connection ready, with the next statement already
      // written on it: dropping it would fail (and hide) a statement that may commit.
      if (client && !isPostgresReply(err)) this.drop(client);
      throw err;
    } finally {
      settled = true;
      clearTimeout(timer);
      answered();
      written();
      if (--this.out === 0 && this.client) {
        const idle = this.client;
        this.idle = setTimeout(() => this.drop(idle), this.timing.idleMs);
      }
    }
  }

  /**
   * Resolves once every statement asked of the line so far is with the WebSocket, or queued
   * behind one still out (or the connection's opening), whose answer it leaves on.
   */
  sent(): Promise<void> {
    if (this.unsent === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenSent.push(resolve));
  }

  private open(): Client {
    if (this.client) return this.client;
    configureNeon(this.config.NEON_WS_PROXY, this.config.NEON_FETCH_ENDPOINT);
    const client = new Client({ connectionString: keptConnectionUrl(this.config) });
    client.neonConfig.coalesceWrites = false;
    // A lost connection fails every statement still in it (their callbacks); the line opens anew.
    client.on("error", () => this.drop(client));
    client.on("end", () => this.drop(client));
    client.connect().catch(() => this.drop(client));
    this.client = client;
    this.last = Promise.resolve();
    return client;
  }

  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => {});
  }

  /** What drizzle's session calls `query` on: the line's client, telling when it wrote. */
  private queryable(client: Client, written: () => void) {
    return {
      query: (config: object, values?: unknown[]): Promise<QueryResult> => {
        const answer = client.query(config as never, values);
        // Written now if the connection was idle (no coalescing), else queued: nothing to wait for.
        written();
        return answer;
      },
    };
  }
}
