import { Client, type Pool } from "@neondatabase/serverless";
import { openDatabase, type Database } from "../../src/db/client";
import { describeError, Logger, parseLogLevel } from "../../src/lib/logger";
import { withTimeout } from "../../src/lib/with-timeout";
import {
  settleMarket,
  type OutboxSource,
  type ReadPages,
  type SettleOptions,
} from "../../src/domain/settlement/settle-market";
import { SettlementEpochError } from "../../src/domain/settlement/settlement-errors";
import type { MarketRules } from "../../src/domain/market/market-rules";
import { EventRelay } from "./event-relay";

/** Batches per round; a round that used them all goes again at once. */
const BATCHES_PER_ROUND = 10;
/**
 * A round that has not finished by then is abandoned and its connection closed (which makes
 * Postgres roll back and free the cursor row): a half-open socket must not stall the market.
 */
const ROUND_TIMEOUT_MS = 30_000;
/** Consecutive failures after which the warning becomes an error (something needs a person). */
const FAILURES_TO_ALERT = 3;
/** Retry delays after a failed round (Postgres down, another settler holding the market). */
const RETRY_MS = [100, 500, 2_000, 10_000];

/**
 * The settler's connections write a statement inside the call, not on the driver's zero timer:
 * a group's storage writes made in that turn would hold it at workerd's output gate until they
 * are durable. Only on an idle open connection: a pool that must open one writes the statement
 * once connected, later (as does a transaction, after its BEGIN). Safe on a pooled connection,
 * which never has two statements out (decisions/0017). The exception is login: with
 * `pipelineConnect: "password"` (src/db/client.ts) the first statement goes out with the startup
 * and password messages, before Postgres has answered them. Safe too: Postgres reads a
 * connection's messages in order and runs the statement only once the login succeeded; a failed
 * login closes the connection, the statement never run, and the caller gets the error.
 * Set before the connection opens (set after, the pipelined startup breaks).
 */
class UncoalescedClient extends Client {
  constructor(config: ConstructorParameters<typeof Client>[0]) {
    super(config);
    this.neonConfig.coalesceWrites = false;
  }
}

/**
 * Settles the market's fills from inside its order book object, as soon as they are matched:
 * the object reads its own outbox (no RPC), applies it to Postgres through `settleMarket` (the
 * same exactly-once path the cron and cancels use) and acknowledges after commit.
 *
 * Why here and not in the Worker: a Worker's Postgres connection cannot outlive its request, so
 * settling from requests paid a new connection per settlement and made concurrent settlers queue
 * on the market's cursor row. The object's connections live as long as the object (workerd binds
 * an object's I/O to the object, not to one request), and there is one settler per market.
 *
 * One round at a time; a kick during a round asks for another. Failures back off and retry
 * (not a refused reset storage, which only a person can resolve); an evicted object loses its
 * timer, and the cron settles whatever is left.
 */
export class ObjectSettler {
  private opened?: { db: Database; pool: Pool };
  private running = false;
  private again = false;
  private failures = 0;
  /** The cursor this settler last committed (saves reading it from Postgres each round). */
  private cursor?: number;
  private retry?: ReturnType<typeof setTimeout>;
  private readonly log: Logger;
  private readonly relay: EventRelay;
  /** LOG_LEVEL=debug: each batch's stages are logged (where settlement lag goes). */
  private readonly timed: boolean;
  /** The batch in flight, when timed: when its pages were read, and their match times. */
  private batch?: { read: number; entries: number; first: number; last: number };

  constructor(
    private readonly env: Env,
    private readonly source: OutboxSource & { backlog(): number; readPages: ReadPages },
    private readonly rules: () => MarketRules | undefined,
    private readonly enabled: () => boolean,
  ) {
    const level = parseLogLevel(env.LOG_LEVEL);
    this.log = new Logger(level, { component: "order-book-settler" });
    this.timed = level === "debug";
    this.relay = new EventRelay(env, this.log);
  }

  /**
   * When timed, the page reader noting each batch's pages, and the hook that logs the batch once
   * committed (before its acknowledgement, which waits for the next batch's statement).
   */
  private timing(): Pick<SettleOptions, "readPages" | "afterCommit"> {
    const { source } = this;
    if (!this.timed) return { readPages: source.readPages };
    // A round that read pages but stopped uncommitted (market held elsewhere) must not leave
    // its batch to be logged by a later round's commit.
    this.batch = undefined;
    return {
      readPages: async (afterSeq, maxEntries) => {
        const pages = await source.readPages(afterSeq, maxEntries);
        if (pages) {
          const ts = pages.marks.map((m) => m.ts);
          this.batch = {
            read: Date.now(),
            entries: pages.count,
            first: Math.min(...ts),
            last: Math.max(...ts),
          };
        }
        return pages;
      },
      afterCommit: () => {
        const batch = this.batch;
        this.batch = undefined;
        if (!batch) return;
        // A fill's lag is its wait to be read (its group's storage commit, then the batch
        // before it) plus the statement; the first and last pages bound the wait.
        this.log.debug("settlement batch", {
          entries: batch.entries,
          oldest_wait_ms: batch.read - batch.first,
          newest_wait_ms: batch.read - batch.last,
          statement_ms: Date.now() - batch.read,
        });
      },
    };
  }

  /** New outbox entries exist (or may): settle them soon. */
  kick(): void {
    if (!this.enabled()) return;
    // Backing off after a failure: the timer retries; new entries just wait for it.
    if (this.failures > 0 && this.retry) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.retry);
    this.retry = undefined;
    this.running = true;
    void this.round().finally(() => {
      this.running = false;
    });
  }

  private database(): Database {
    if (!this.opened) {
      this.opened = openDatabase(this.env);
      this.opened.pool.Client = UncoalescedClient;
    }
    return this.opened.db;
  }

  private async round(): Promise<void> {
    try {
      do {
        this.again = false;
        const rules = this.rules();
        if (!rules || !this.enabled()) return;
        const db = this.database();
        const result = await withTimeout(
          settleMarket(db, this.source, rules, {
            maxBatches: BATCHES_PER_ROUND,
            afterSeq: this.cursor,
            log: this.log,
            ...this.timing(),
          }),
          ROUND_TIMEOUT_MS,
          `settlement round took over ${ROUND_TIMEOUT_MS} ms`,
        );
        this.cursor = result.lastSeq;
        if (result.batches > 0) this.relay.kick(db);
        if (result.batches === BATCHES_PER_ROUND) this.again = true;
      } while (this.again);
      this.failures = 0;
      // Entries left behind: another settler held the market (it re-reads after its commit,
      // but may stop early), so look again shortly.
      if (this.source.backlog() > 0) this.later();
    } catch (err) {
      this.failures++;
      const fields = { attempt: this.failures, ...describeError(err) };
      if (err instanceof SettlementEpochError) {
        // The book's storage was reset: no retry can pass until a person decides what its fills
        // are worth, and one every 10 s only repeated the error for as long as the object lived.
        // The next fill's kick and the cron try again.
        this.log.error(
          "settlement refused (order book storage reset); not retried until the next fill",
          fields,
        );
        return;
      }
      if (this.failures >= FAILURES_TO_ALERT) this.log.error("settlement keeps failing; retrying", fields);
      else this.log.warn("settlement failed; retrying", fields);
      // The connection may be what broke: start from a fresh Pool next time.
      const broken = this.opened;
      this.opened = undefined;
      this.cursor = undefined;
      void broken?.pool.end().catch(() => {});
      this.later();
    }
  }

  private later(): void {
    if (this.retry) return;
    const delay = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)]!;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.kick();
    }, delay);
  }
}
