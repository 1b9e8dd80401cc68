import { Client, type QueryResult } from "@neondatabase/serverless";
import { NeonDatabase, NeonSession } from "drizzle-orm/neon-serverless";
import { PgDialect } from "drizzle-orm/pg-core";
import {
  configureNeon,
  keptConnectionDirect,
  keptConnectionUrl,
  type Database,
  type DatabaseConfig,
} from "../../src/db/client";
import { isPostgresReply } from "../../src/db/pg-errors";
import { LineStatement } from "./line-statement";

const dialect = new PgDialect();

/** What a statement on the line is run through: the Client's `query`, telling the line when it wrote. */
interface Queryable {
  query(config: { text: string }, values?: unknown[]): Promise<QueryResult>;
}

/** The intake's wait for a lock (order-intake.ts): a statement out longer gives the connection up. */
const ANSWER_TIMEOUT_MS = 10_000;
/** Nothing out this long closes the connection (a Neon connection per market, a kept WebSocket). */
const IDLE_CLOSE_MS = 10_000;

/**
 * The funds locks' Postgres connection: ONE kept connection (the direct one when configured:
 * `keptConnectionUrl`), so the locks reach Postgres in the order they were asked for, however
 * many are waiting (a Pool would open another connection for a lock asked while one is out,
 * and Postgres could run the later one first).
 *
 * On a direct connection a statement is written the moment it is asked, several out at once
 * (pipelined): each carries its own Sync, so Postgres runs and commits them one after the
 * other in the order written, the next one as soon as the one before it committed, and an error
 * in one (Postgres skips only to its Sync) leaves the ones behind it to run. The Client's queue
 * matches the answers to the statements in that same order (./line-statement.ts). Over the
 * pooled URL a statement is written only once the one before it is answered: PgBouncer 1.18 in
 * transaction mode, the local stack's, hands a statement written while another is out to
 * another server connection half-way (docs/decisions/0017-locks-queued-on-one-connection.md).
 * While the connection opens, statements wait and are written together once it is open.
 *
 * Writes are not coalesced on this socket (the driver would send them on a zero timer): a
 * statement written is with the WebSocket, and workerd's output gate holds a message only for
 * the storage writes made before it was sent (`sent()`). A statement unanswered 10 s after the
 * one before it was answered (Postgres starts it only then) or a lost connection drops the
 * connection: every statement still out on it fails. An error Postgres answered with (a failed
 * statement, a lock_timeout) keeps it. 10 s with nothing out closes it. The next call opens
 * another.
 */
export class LockLine {
  private client?: Client;
  /** `client` is open: a statement asked now is written at once (when pipelined). */
  private ready = false;
  /** Statements asked while `client` opens, written in order once it is open (when pipelined). */
  private unwritten: LineStatement[] = [];
  /** Statements are written as asked: the connection is direct, not the pooler. */
  private readonly pipelined: boolean;
  /** Settles when the last statement asked on `client` is: Postgres starts the next one then. */
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
  ) {
    this.pipelined = keptConnectionDirect(config);
  }

  /** `fn` runs ONE statement on the line (drizzle's `execute`); a lost answer drops the connection. */
  use<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    return this.run((line) =>
      fn(
        new NeonDatabase(dialect, new NeonSession(line as Client, dialect, undefined), undefined) as Database,
      ),
    );
  }

  /**
   * `text` with `values` as ONE statement on the line, without drizzle (the funds lock's, once
   * per flush: ./funds-locker.ts); `read` takes its answer, on the line as `use`'s `fn` does.
   */
  query<T>(text: string, values: unknown[], read: (result: QueryResult) => T): Promise<T> {
    return this.run(async (line) => read(await line.query({ text }, values)));
  }

  private async run<T>(fn: (line: Queryable) => Promise<T>): Promise<T> {
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
      // Postgres starts it only once the statements before it are answered: its time starts then.
      const ahead = this.last;
      this.last = new Promise((resolve) => (answered = resolve));
      const on = client;
      void ahead.then(() => {
        if (!settled) timer = setTimeout(() => this.drop(on), this.timing.answerMs);
      });
      return await fn(this.queryable(client, written));
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
   * behind the connection's opening (or, over the pooler, behind one still out), which it
   * leaves on.
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
    // Before the Client's own turn for the first statement: it finds them all written.
    (client as unknown as { on(event: "connect", listener: () => void): void }).on("connect", () => {
      if (this.client !== client) return;
      this.ready = true;
      for (const statement of this.unwritten.splice(0)) statement.write(client.connection);
    });
    client.connect().catch(() => this.drop(client));
    this.client = client;
    this.ready = false;
    this.unwritten = [];
    this.last = Promise.resolve();
    return client;
  }

  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => {});
  }

  /** What drizzle's session calls `query` on: the line's client, telling when it wrote. */
  private queryable(client: Client, written: () => void): Queryable {
    return {
      query: (config: object, values?: unknown[]): Promise<QueryResult> => {
        const statement = new LineStatement(config, values, client.connection);
        const answer = new Promise<QueryResult>((resolve, reject) => {
          statement.callback = (err, result) => (err ? reject(err) : resolve(result!));
        });
        client.query(statement);
        // Written by the Client if the connection was idle; pipelined, now whatever is out.
        if (this.pipelined && client === this.client) {
          if (this.ready) statement.write(client.connection);
          else this.unwritten.push(statement);
        }
        written();
        return answer;
      },
    };
  }
}
