import type { Database } from "../../db/client";
import { describeError, Logger } from "../../lib/logger";
import { balanceUpdates, publishBalances, type BalancePublisher } from "../ledger/balance-updates";
import type { MarketRules } from "../market/market-rules";
import { isInvariantBreach, reasonOf, SettlementEpochError } from "./settlement-errors";
import { planSettlement, type OutboxEntry } from "./plan";
import { logQuarantined, quarantineEntry } from "./quarantine";
import { assertEpoch, cursorOf, lockBatch, type Cursor } from "./reads";
import type { OutboxPages } from "./settle-page";
import { readPage, sendPage, type PagePipeline, type SentPage } from "./sent-pages";
import { NOTHING, writePlan, type BatchResult } from "./writes";

/** Outbox entries per Postgres transaction, read as entries (over RPC). */
export const SETTLEMENT_BATCH = 200;
/**
 * Entries per statement, read as stored pages (whole flushes, at least one): under a backlog
 * few large statements, since the object's cost per statement hardly depends on its size.
 */
export const SETTLEMENT_PAGE = 2_000;

export interface SettleOptions {
  /** Runs after each batch committed and before the outbox is acknowledged (tests; the object's timing log). */
  afterCommit?: (lastSeq: number) => Promise<void> | void;
  /**
   * Wait for a concurrent settler instead of leaving the work to it: for a caller that must
   * see its own fills settled before it answers (cancel). Default false.
   */
  wait?: boolean;
  /** Stop after this many batches (the cron drains everything; a request does one or two). */
  maxBatches?: number;
  /**
   * Asked before each page: once false, no page is sent, the pages out are answered and the call
   * returns. The object's settler runs on while entries keep coming, its pipeline full, and still
   * ends its call in bounded time (or at once when an operator stops it).
   */
  sending?: () => boolean;
  /**
   * Where to start reading: a cursor this caller committed itself (the object's settler
   * remembers its own). Stale is fine: the batch skips what the cursor row says is settled.
   */
  afterSeq?: number;
  /** Where quarantined entries, a reset book and failed balance publications are logged. */
  log?: Logger;
  /** The book's stored pages, when the caller can read them in place (else entries over `book`). */
  readPages?: ReadPages;
  /** Pages sent before the ones ahead are answered, on one kept connection (the object's settler). */
  pipeline?: PagePipeline;
}

/** What a market's order book says about its outbox besides the entries. */
export interface OutboxRead {
  entries: OutboxEntry[];
  /** The object's storage identity (absent: an object older than epochs). */
  epoch?: string;
  /** The highest outbox sequence the object has issued. */
  lastSeq?: number;
}

/**
 * The market's order book as settlement sees it (over RPC, or from inside the object): where
 * the fills come from, and where the balances they leave are shown. An acknowledgement names
 * the epoch it is for, so it can never delete the entries of a reset object.
 */
export interface OutboxSource extends BalancePublisher {
  readOutbox(afterSeq: number, limit: number): Promise<OutboxRead>;
  ackOutbox(uptoSeq: number, epoch?: string): Promise<unknown>;
}

/**
 * The stored pages after `afterSeq`, unparsed: the object's own settler reads them in place;
 * null when there are none, or they are rows from before pages (`readOutbox` reads those).
 */
export type ReadPages = (afterSeq: number, maxEntries: number) => Promise<OutboxPages | null>;

export interface SettleResult {
  batches: number;
  entries: number;
  trades: number;
  lastSeq: number;
  /** Entries set aside in `settlement_quarantine` by this call. */
  quarantined: number;
}

/**
 * Applies one batch of outbox entries in ONE transaction: the market's cursor row is locked
 * first (another settler holding it → `busy`, nothing done), entries at or below it are skipped, the
 * orders involved are locked in id order, then trades, ledger entries, order states, events and
 * the new cursor are written. Replaying a batch that was applied changes nothing: the cursor
 * skips it, the planner skips trades already in Postgres, and a trade row that could not be
 * inserted (its id settled already) rolls the batch back; ledger (type, reference) is unique
 * besides. An entry the planner finds breaking an invariant is quarantined in the same
 * transaction (`settlement_quarantine`), so the cursor passes it exactly once.
 */
export async function applySettlementBatch(
  db: Database,
  rules: MarketRules,
  entries: readonly OutboxEntry[],
  wait = true,
): Promise<BatchResult> {
  return db.transaction(async (tx) => {
    const locked = await lockBatch(tx, rules.symbol, entries, { wait, cursor: true });
    if (locked === null) return { ...NOTHING, busy: true };
    const { cursor, known, settled } = locked;
    const epoch = assertEpoch(rules.symbol, cursor, entries);
    const fresh = entries.filter((e) => e.seq > cursor.lastSeq);
    if (fresh.length === 0) return { ...NOTHING, lastSeq: cursor.lastSeq };
    const plan = planSettlement(rules, fresh, known, cursor.lastSeq, settled);
    const { balances } = await writePlan(tx, rules, plan, {
      reference: `${rules.symbol}:${plan.lastSeq}`,
      cursor: { epoch },
    });
    return {
      lastSeq: plan.lastSeq,
      trades: plan.trades.length,
      busy: false,
      balances,
      quarantined: plan.quarantined,
    };
  });
}

/** What one `settleMarket` call settles with: the same for each of its batches. */
interface Settling {
  db: Database;
  rules: MarketRules;
  wait: boolean;
  log: Logger;
}

/**
 * A batch whose statement Postgres refused on an invariant (a CHECK, a foreign key, a balance
 * that would go negative, a trade settled already) is settled again one entry per transaction,
 * so the one that breaks it is found exactly and quarantined while every other entry settles.
 * A transient failure (the connection, a timeout) is thrown: the whole batch is retried later.
 */
async function applyIsolating(s: Settling, entries: readonly OutboxEntry[]): Promise<BatchResult> {
  let batch: BatchResult;
  try {
    batch = await applySettlementBatch(s.db, s.rules, entries, s.wait);
  } catch (err) {
    if (!isInvariantBreach(err)) throw err;
    s.log.warn("settlement batch broke an invariant; settling its entries one at a time", {
      market: s.rules.symbol,
      from_seq: entries[0]!.seq,
      to_seq: entries[entries.length - 1]!.seq,
      ...describeError(err),
    });
    return settleOneByOne(s, entries);
  }
  logQuarantined(s.log, s.rules.symbol, batch.quarantined);
  return batch;
}

async function settleOneByOne(s: Settling, entries: readonly OutboxEntry[]): Promise<BatchResult> {
  const out: BatchResult = { ...NOTHING, balances: [], quarantined: [] };
  for (const entry of entries) {
    let one: BatchResult;
    try {
      one = await applySettlementBatch(s.db, s.rules, [entry], s.wait);
    } catch (err) {
      if (!isInvariantBreach(err)) throw err;
      one = await quarantineEntry(s.db, s.rules, entry, reasonOf(err), s.wait);
    }
    if (one.busy) return { ...out, busy: true };
    out.lastSeq = Math.max(out.lastSeq, one.lastSeq);
    out.trades += one.trades;
    out.balances.push(...one.balances);
    out.quarantined.push(...one.quarantined);
  }
  logQuarantined(s.log, s.rules.symbol, out.quarantined);
  return out;
}

/**
 * The book must be the one whose sequence the cursor counts: the same epoch, and not behind
 * the cursor. Otherwise its storage was reset, and its entries (numbered from 1 again) would
 * look settled: refused, loudly, never skipped.
 */
function assertSameBook(market: string, cursor: Cursor, read: OutboxRead, log: Logger): void {
  let problem: string | null = null;
  if (read.epoch !== undefined && cursor.epoch !== null && read.epoch !== cursor.epoch) {
    problem = `the order book's epoch ${read.epoch} is not the cursor's ${cursor.epoch}`;
  } else if (read.lastSeq !== undefined && read.lastSeq < cursor.lastSeq) {
    problem = `the order book's outbox ends at ${read.lastSeq}, behind the cursor at ${cursor.lastSeq}`;
  }
  if (problem === null) return;
  log.error("order book storage was reset: settlement of the market refused", {
    market,
    cursor_seq: cursor.lastSeq,
    cursor_epoch: cursor.epoch,
    book_epoch: read.epoch ?? null,
    book_seq: read.lastSeq ?? null,
  });
  throw new SettlementEpochError(`${market}: ${problem} (its storage was reset)`);
}

const fallbackLog = new Logger("info", { component: "settlement" });

/**
 * Drains a market's settlement outbox: read a batch after the Postgres cursor, apply it in one
 * transaction, acknowledge it only after commit (once the next batch's statement is out), until
 * the outbox is empty. A crash before the commit leaves the entries in the outbox; a crash
 * between commit and acknowledgement leaves them too, and the cursor makes their second
 * application a no-op. An entry that breaks an
 * invariant is quarantined and the rest settles on (`applyIsolating`).
 *
 * With a `pipeline` (the object's settler), up to its depth of pages are out at once on one
 * connection, each read after the last one sent. Each names where it was read from, and
 * `settle_page` refuses it (`gap`) unless the cursor has reached that: so a page behind one that
 * did not settle (busy, left to the planner, failed, a stale epoch) writes nothing, and once every
 * page out is answered the first of those is acted on and reading resumes after the cursor.
 * Answers are taken in the order sent (Postgres ran them in that order), so the commits are
 * acknowledged in order.
 *
 * Concurrent settlers of one market do not queue: one that finds the cursor locked returns at
 * once, because the holder reads the outbox again after its commit and so picks up whatever
 * was appended meanwhile (entries are in the outbox before anyone tries to settle them).
 */
export async function settleMarket(
  db: Database,
  book: OutboxSource,
  rules: MarketRules,
  options: SettleOptions = {},
): Promise<SettleResult> {
  const log = options.log ?? fallbackLog;
  const settling: Settling = { db, rules, wait: options.wait ?? false, log };
  const result: SettleResult = { batches: 0, entries: 0, trades: 0, lastSeq: 0, quarantined: 0 };
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  const sending = options.sending ?? (() => true);
  const { pipeline } = options;
  const depth = pipeline?.depth ?? 1;
  // A cursor read from Postgres is checked against the book; after the first batch the cursor
  // is the one this loop committed (no query per batch).
  const stored = options.afterSeq === undefined ? await cursorOf(db, rules.symbol) : null;
  /** The cursor as this call last committed it (or found it). */
  let committed = options.afterSeq ?? stored!.lastSeq;
  let first = true;
  // The last batch's acknowledgement (a write to the object's storage), made once the next
  // batch's statement is out: made before it, workerd's output gate would hold that statement
  // until the write is durable, a storage commit in the path of every batch but the first.
  // Deferring it is safe: the cursor, committed with the batch, is what skips the batch's
  // entries; an acknowledgement only deletes entries the cursor already skips. So a failed one
  // is logged, not thrown: thrown, the caller would drop its connection under the next
  // statement, which may be committing.
  let unacknowledged: { seq: number; epoch?: string } | undefined;
  const acknowledge = async () => {
    const ack = unacknowledged;
    unacknowledged = undefined;
    if (!ack) return;
    try {
      await book.ackOutbox(ack.seq, ack.epoch);
    } catch (err) {
      log.warn("settlement acknowledgement failed; the next one covers it", {
        market: rules.symbol,
        upto_seq: ack.seq,
        ...describeError(err),
      });
    }
  };
  let acknowledging: Promise<void> | undefined;
  /** A batch Postgres committed: its hook, its acknowledgement to come, its balances, the counts. */
  const settled = async (applied: BatchResult & { entries: number }, epoch: string | undefined) => {
    await options.afterCommit?.(applied.lastSeq);
    unacknowledged = { seq: applied.lastSeq, epoch };
    // The balances the batch left go to the users' `balances` sockets (one more call to the
    // same object, no Postgres read: they came back from the ledger's writes).
    await publishBalances(book, rules.symbol, balanceUpdates(rules, applied.balances), options.log);
    result.batches++;
    result.entries += applied.entries;
    result.trades += applied.trades;
    result.quarantined += applied.quarantined.length;
    committed = applied.lastSeq;
  };
  /** Pages sent and not yet answered, in the order sent: Postgres runs them in that order. */
  const out: SentPage[] = [];
  /** Where the next page is read from: after the last page sent. */
  let readAfter = committed;
  /**
   * Why no page is sent until those out are answered (the first page that did not settle: each
   * page behind it is refused as a `gap`, or settled from the cursor another settler left).
   */
  let stop: Stop | undefined;
  try {
    for (;;) {
      let empty = false;
      /** Whether one more page may go out (now or once due). */
      const open = () => !stop && out.length < depth && result.batches + out.length < maxBatches && sending();
      // Room for a page: the first one out at once, one behind others once due (`PagePacing`).
      const room = () => open() && (out.length === 0 || Date.now() >= pipeline!.pacing.due(depth));
      while (room()) {
        const page = await readPage(book, options.readPages, readAfter, SIZES);
        if (stored && first) assertSameBook(rules.symbol, stored, page.read, log);
        first = false;
        if (!("top" in page)) {
          empty = true;
          if (out.length === 0) {
            // Anything at or below the cursor that is still there was applied but not acknowledged.
            unacknowledged = undefined;
            await book.ackOutbox(committed, page.read.epoch);
          }
          break;
        }
        out.push(sendPage(db, rules, page, settling.wait, pipeline));
        readAfter = page.top;
      }
      const head = out[0];
      if (!head) break;
      // The object's settler writes the statement within the call's microtasks when its
      // connection is idle or pipelined (it does not coalesce its writes): a timer turn later,
      // the acknowledgement no longer holds it. A connection still opening, or the planner's
      // fallback (`db.transaction`: BEGIN first), writes it later, so it still waits for the
      // acknowledgement to be durable.
      if (unacknowledged && !acknowledging) acknowledging = nextTurn().then(acknowledge);
      if (pipeline && !empty && open()) {
        // A page may go before the head's answer, once due.
        if (!(await answeredWithin(head, pipeline.pacing.due(depth) - Date.now()))) continue;
      }
      out.shift();
      const answer = await head.answer;
      await acknowledging;
      acknowledging = undefined;
      if ("error" in answer) stop ??= { error: answer.error };
      else {
        const { outcome } = answer;
        switch (outcome.status) {
          case "ok":
            // Sent behind a page that stopped, it settled from the cursor it found: counted too.
            if (outcome.lastSeq > committed) {
              const { lastSeq, trades, balances, entries } = outcome;
              await settled(
                { lastSeq, trades, balances, entries, busy: false, quarantined: [] },
                head.read.epoch,
              );
            } else stop ??= "still";
            break;
          case "busy":
            stop ??= "busy";
            break;
          case "epoch":
            stop ??= {
              error: new SettlementEpochError(
                `${rules.symbol}: outbox epoch ${head.epoch} is not the cursor's ${outcome.cursorEpoch} (the order book's storage was reset)`,
              ),
            };
            break;
          case "gap":
            // Expected only behind a page that stopped: with every page ahead settled, the
            // cursor is not where this call committed it. Thrown: the caller reads it again.
            stop ??= {
              error: new Error(
                `${rules.symbol}: the settlement cursor is at ${outcome.cursorSeq}, behind ${head.afterSeq} where this settler committed it`,
              ),
            };
            break;
          case "fallback":
            stop ??= { fallback: head, reason: outcome.reason };
            break;
        }
      }
      if (!stop || out.length > 0) continue;
      // Every page sent is answered: the one that stopped is acted on, then reading resumes
      // after the cursor (pages refused as gaps are read again).
      const why = stop;
      stop = undefined;
      if (why === "busy" || why === "still") break;
      if ("error" in why) throw why.error;
      // The page passed settle_page's cursor check, so the cursor was at or past its start and
      // the planner may apply it from there.
      log.debug("settlement page left to the planner", { market: rules.symbol, reason: why.reason });
      const parsed = why.fallback.parsed();
      const from = committed;
      const applied = await applyIsolating(settling, parsed);
      const advanced = applied.lastSeq > from;
      if (advanced) {
        const entries = parsed.filter((e) => e.seq > from && e.seq <= applied.lastSeq).length;
        await settled({ ...applied, entries }, why.fallback.read.epoch);
      }
      // Another settler holds the market (it picks up the rest), or nothing moved: stop.
      if (applied.busy || !advanced) break;
      readAfter = committed;
    }
  } finally {
    // Nothing of this call outlives it: pages still out are waited for (their answers ignored).
    await Promise.all(out.map((page) => page.answer));
    await acknowledging;
  }
  await acknowledge();
  result.lastSeq = committed;
  return result;
}

/** What stopped sending pages: acted on once every page out is answered. */
type Stop = "busy" | "still" | { error: unknown } | { fallback: SentPage; reason: string };

const SIZES = { page: SETTLEMENT_PAGE, batch: SETTLEMENT_BATCH };

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Whether the page is answered within `ms`. */
async function answeredWithin(page: SentPage, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const elapsed = new Promise<boolean>(
    (resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))),
  );
  try {
    return await Promise.race([page.answer.then(() => true), elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
