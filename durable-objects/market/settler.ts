import { Client, type Pool } from "@neondatabase/serverless";
import { openDatabase, type Database } from "../../src/db/client";
import { describeError, Logger, parseLogLevel } from "../../src/lib/logger";
import { withTimeout } from "../../src/lib/with-timeout";
import { PagePacing, type PagePipeline } from "../../src/domain/settlement/sent-pages";
import {
  settleMarket,
  type OutboxSource,
  type ReadPages,
  type SettleOptions,
} from "../../src/domain/settlement/settle-market";
import { SettlementEpochError } from "../../src/domain/settlement/settlement-errors";
import type { MarketRules } from "../../src/domain/market/market-rules";
import { EventRelay } from "./event-relay";
import { LockLine } from "./lock-line";

/**
 * A round sends pages for this long at most, while entries keep coming: its pipeline stays full
 * (a round ended after ten batches drained it, and Postgres idled until the next round's first
 * page), and it still ends, its last pages answered, well within `ROUND_TIMEOUT_MS`. A round cut
 * short goes again at once.
 */
const ROUND_SENDS_MS = 10_000;
/**
 * Pages out at once on the settler's line: the next one waits in Postgres behind the one
 * running rather than in the object for its answer (docs/decisions/0027).
 */
const PAGES_OUT = 2;
/**
 * A round that has not finished by then is abandoned and its Pool closed (which makes Postgres
 * roll back and free the cursor row): a half-open socket must not stall the market. A round busy
 * by design ends sooner: it sends for `ROUND_SENDS_MS`, then only waits for its pages out (a few
 * hundred ms), so an abandoned round sends nothing more. A planner's fallback late in a round has
 * less of the 30 s: one left unfinished is abandoned (money-safe: each of its transactions locks
 * the cursor) and the next round applies that page again. An abandoned round's pages' line is
 * left to its own rule (a statement unanswered 10 s drops the connection; lock-line.ts):
 * a page it still runs beside the next round's is refused (busy, gap) or skips what the cursor
 * passed (docs/decisions/0027-settlement-pages-pipelined.md).
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
 * Its pages go out on a line of their own, the next one before the one ahead is answered, each
 * refused by Postgres unless the cursor reached its start (docs/decisions/0027).
 *
 * One round at a time; a kick during a round asks for another. Failures back off and retry
 * (not a refused reset storage, which only a person can resolve); an evicted object loses its
 * timer, and the cron settles whatever is left.
 */
export class ObjectSettler {
  /** The Pool (the cursor's read, the planner's transactions, the relay) and the pages' line. */
  private opened?: { db: Database; pool: Pool; line: LockLine };
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
  /** The batches out, when timed, by last sequence: when their pages were read, their match times. */
  private readonly batches = new Map<
    number,
    { read: number; entries: number; first: number; last: number }
  >();
  /** When the pages go out, learnt across rounds. */
  private readonly pacing = new PagePacing();

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
    const { source, batches } = this;
    if (!this.timed) return { readPages: source.readPages };
    // A round that read pages but stopped uncommitted (market held elsewhere) must not leave
    // its batches to be logged by a later round's commit.
    batches.clear();
    return {
      readPages: async (afterSeq, maxEntries) => {
        const pages = await source.readPages(afterSeq, maxEntries);
        if (pages) {
          const ts = pages.marks.map((m) => m.ts);
          batches.set(Math.max(...pages.marks.map((m) => m.seq)), {
            read: Date.now(),
            entries: pages.count,
            first: Math.min(...ts),
            last: Math.max(...ts),
          });
        }
        return pages;
      },
      afterCommit: (lastSeq) => {
        const batch = batches.get(lastSeq);
        for (const seq of batches.keys()) if (seq <= lastSeq) batches.delete(seq);
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

  private database(): { db: Database; line: LockLine } {
    if (!this.opened) {
      const { db, pool } = openDatabase(this.env);
      pool.Client = UncoalescedClient;
      this.opened = { db, pool, line: new LockLine(this.env) };
    }
    return this.opened;
  }

  /**
   * The pages' statements on the line: ONE kept connection (direct when configured), each
   * written when sent, the next one out before the one ahead is answered (pipelined; over the
   * pooler queued behind it instead: lock-line.ts).
   */
  private pipeline(line: LockLine): PagePipeline {
    return {
      depth: PAGES_OUT,
      line: (statement) => line.use(statement),
      pacing: this.pacing,
    };
  }

  private async round(): Promise<void> {
    try {
      do {
        this.again = false;
        const rules = this.rules();
        if (!rules || !this.enabled()) return;
        const { db, line } = this.database();
        const sendUntil = Date.now() + ROUND_SENDS_MS;
        const timing = this.timing();
        const result = await withTimeout(
          settleMarket(db, this.source, rules, {
            // Until its time is up, or the operator stops it, or the rules change.
            sending: () => Date.now() < sendUntil && this.enabled() && this.rules() === rules,
            afterSeq: this.cursor,
            log: this.log,
            pipeline: this.pipeline(line),
            readPages: timing.readPages,
            // The relay publishes each batch's events as it commits, not once a round: a round
            // now lasts as long as entries keep coming.
            afterCommit: async (lastSeq) => {
              await timing.afterCommit?.(lastSeq);
              // Not from a round abandoned meanwhile: its Pool is ended.
              if (this.opened?.db === db) this.relay.kick(db);
            },
          }),
          ROUND_TIMEOUT_MS,
          `settlement round took over ${ROUND_TIMEOUT_MS} ms`,
        );
        this.cursor = result.lastSeq;
        if (Date.now() >= sendUntil) this.again = true;
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
      // The connection may be what broke: start from a fresh Pool and line next time (the old
      // line closes once idle).
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
