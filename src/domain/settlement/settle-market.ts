import type { Database } from "../../db/client";
import { describeError, Logger } from "../../lib/logger";
import { balanceUpdates, publishBalances, type BalancePublisher } from "../ledger/balance-updates";
import type { MarketRules } from "../market/market-rules";
import { isInvariantBreach, reasonOf, SettlementEpochError } from "./settlement-errors";
import { planSettlement, type OutboxEntry } from "./plan";
import { logQuarantined, quarantineEntry } from "./quarantine";
import { assertEpoch, cursorOf, lockBatch, type Cursor } from "./reads";
import { entriesOf, epochOfEntries, settlePage, withEpoch, type OutboxPages } from "./settle-page";
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
   * Where to start reading: a cursor this caller committed itself (the object's settler
   * remembers its own). Stale is fine: the batch skips what the cursor row says is settled.
   */
  afterSeq?: number;
  /** Where quarantined entries, a reset book and failed balance publications are logged. */
  log?: Logger;
  /** The book's stored pages, when the caller can read them in place (else entries over `book`). */
  readPages?: ReadPages;
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

/**
 * A page through `settle_page` (one statement); what it leaves to the TypeScript planner (an
 * amendment, an OCO pair, an invariant a page breaks) goes through `applyIsolating` instead.
 */
async function applyPage(
  s: Settling,
  page: { entries: readonly OutboxEntry[]; epoch: string | null },
  entries: () => readonly OutboxEntry[],
  afterSeq: number,
): Promise<BatchResult & { entries: number }> {
  const { rules } = s;
  let outcome;
  try {
    outcome = await settlePage(s.db, rules, page.entries, page.epoch, s.wait, afterSeq);
  } catch (err) {
    // A balance or constraint Postgres refused: the planner finds the entry and quarantines it.
    if (!isInvariantBreach(err)) throw err;
    outcome = { status: "fallback" as const, reason: describeError(err).error };
  }
  switch (outcome.status) {
    case "ok": {
      const { lastSeq, trades, balances, entries: count } = outcome;
      return { lastSeq, trades, balances, entries: count, busy: false, quarantined: [] };
    }
    case "busy":
      return { ...NOTHING, busy: true, entries: 0 };
    case "epoch":
      throw new SettlementEpochError(
        `${rules.symbol}: outbox epoch ${page.epoch} is not the cursor's ${outcome.cursorEpoch} (the order book's storage was reset)`,
      );
    case "gap":
      // Read after the cursor this call committed (or read): Postgres' cursor is not there.
      throw new Error(
        `${rules.symbol}: the settlement cursor is at ${outcome.cursorSeq}, behind ${afterSeq} where this settler committed it`,
      );
    case "fallback": {
      s.log.debug("settlement page left to the planner", { market: rules.symbol, reason: outcome.reason });
      const parsed = entries();
      const applied = await applyIsolating(s, parsed);
      return {
        ...applied,
        entries: parsed.filter((e) => e.seq > afterSeq && e.seq <= applied.lastSeq).length,
      };
    }
  }
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
  // A cursor read from Postgres is checked against the book; after the first batch the cursor
  // is the one this loop committed (no query per batch).
  const stored = options.afterSeq === undefined ? await cursorOf(db, rules.symbol) : null;
  let afterSeq = options.afterSeq ?? stored!.lastSeq;
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
  while (result.batches < maxBatches) {
    result.lastSeq = afterSeq;
    const paged = (await options.readPages?.(afterSeq, SETTLEMENT_PAGE)) ?? null;
    const read: OutboxRead = paged
      ? { entries: [], epoch: paged.epoch, lastSeq: paged.lastSeq }
      : await book.readOutbox(afterSeq, SETTLEMENT_BATCH);
    if (stored && first) assertSameBook(rules.symbol, stored, read, log);
    first = false;
    const { entries } = read;
    if (!paged && entries.length === 0) {
      // Anything at or below the cursor that is still there was applied but not acknowledged.
      unacknowledged = undefined;
      await book.ackOutbox(afterSeq, read.epoch);
      break;
    }
    let applying;
    if (paged) {
      const parsed = entriesOf(paged);
      const page = { entries: parsed, epoch: paged.epoch };
      applying = applyPage(settling, page, () => withEpoch(parsed, paged.epoch), afterSeq);
    } else {
      const page = { entries, epoch: epochOfEntries(entries) };
      applying = applyPage(settling, page, () => entries, afterSeq);
    }
    // The object's settler writes the statement within the call's microtasks when its pool has
    // an idle connection (it does not coalesce its writes): a timer turn later, the
    // acknowledgement no longer holds it. A pool that must first open a connection, or the
    // planner's fallback (`db.transaction`: BEGIN first), writes it later, so it still waits
    // for the acknowledgement to be durable.
    const acknowledging = unacknowledged && nextTurn().then(acknowledge);
    let applied;
    try {
      applied = await applying;
    } finally {
      await acknowledging;
    }
    const advanced = applied.lastSeq > afterSeq;
    if (advanced) {
      await options.afterCommit?.(applied.lastSeq);
      unacknowledged = { seq: applied.lastSeq, epoch: read.epoch };
      // The balances the batch left go to the users' `balances` sockets (one more call to the
      // same object, no Postgres read: they came back from the ledger's writes).
      await publishBalances(book, rules.symbol, balanceUpdates(rules, applied.balances), options.log);
      result.batches++;
      result.entries += applied.entries;
      result.trades += applied.trades;
      result.quarantined += applied.quarantined.length;
      result.lastSeq = afterSeq = applied.lastSeq;
    }
    // Another settler holds the market (it picks up the rest), or nothing moved: stop.
    if (applied.busy || !advanced) break;
  }
  await acknowledge();
  return result;
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
