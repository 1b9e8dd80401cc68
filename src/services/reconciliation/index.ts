import type { Database, DbExecutor } from "../../db/client";
import { checkBooks, readBooks, type BookMismatch, type BookView, type ReadBook } from "./book-checks";
import { checkFees, type FeeMismatch } from "./fee-checks";
import { checkLedger, type AssetTotals, type LedgerMismatch } from "./ledger-checks";
import { checkLocks, type LockMismatch } from "./lock-checks";

/**
 * Reconciliation: the invariants that prove no money was created or lost, checked from the
 * database as it is, in one consistent snapshot (a read-only repeatable-read transaction):
 * - ledger: the ledger's own arithmetic (ledger-checks.ts);
 * - locks: every locked unit is held by an open order or a withdrawal, and closed orders hold
 *   nothing (lock-checks.ts);
 * - fees: fee income equals the fees of trades and sent withdrawals (fee-checks.ts);
 * - books, when the caller can read the order books: the books' live orders are the orders
 *   open in Postgres (book-checks.ts).
 * Each mismatch has a stable `kind`; each kind is capped at `MAX_ROWS` rows.
 */

export type { AssetTotals, LedgerMismatch } from "./ledger-checks";
export { LEDGER_MISMATCH_KINDS } from "./ledger-checks";
export type { LockMismatch } from "./lock-checks";
export type { FeeMismatch } from "./fee-checks";
export type { BookMismatch, BookReport, BookView, ReadBook } from "./book-checks";
export { BOOK_RACE_MS, checkBooks, orderIdsInOutbox } from "./book-checks";

export type Mismatch = LedgerMismatch | LockMismatch | FeeMismatch | BookMismatch;
export type CheckFamily = "ledger" | "locks" | "fees" | "books";

export interface ReconciliationReport {
  ok: boolean;
  checkedAt: Date;
  /** The families checked: `books` only when the order books were read. */
  checks: CheckFamily[];
  assets: AssetTotals[];
  mismatches: Mismatch[];
}

export interface ReconcileOptions {
  /** Reads a market's book; without it the book check is skipped (and `checks` says so). */
  readBook?: ReadBook;
}

function inSnapshot<T>(db: Database, fn: (tx: DbExecutor) => Promise<T>): Promise<T> {
  return db.transaction(fn, { isolationLevel: "repeatable read", accessMode: "read only" });
}

/**
 * Every family. The books are read first, then the snapshot is taken: the book check relies on
 * that order (see book-checks.ts). A book that cannot be read is a `book_unreadable` mismatch.
 */
export async function reconcile(db: Database, options: ReconcileOptions = {}): Promise<ReconciliationReport> {
  const books = options.readBook ? await readBooks(db, options.readBook) : null;
  const report = await inSnapshot(db, (tx) => reconcileWithin(tx, { books: books?.views }));
  if (books && books.unreadable.length > 0) {
    report.mismatches.push(...books.unreadable);
    report.ok = false;
  }
  return report;
}

/**
 * The checks, run with whatever transaction the caller holds (e.g. to test a tampered state
 * that is rolled back); `books`: views of the order books read before the transaction began.
 */
export async function reconcileWithin(
  tx: DbExecutor,
  options: { books?: readonly BookView[] } = {},
): Promise<ReconciliationReport> {
  const ledger = await checkLedger(tx);
  const mismatches: Mismatch[] = [
    ...ledger.mismatches,
    ...(await checkLocks(tx)),
    ...(await checkFees(tx, ledger.assets)),
  ];
  const checks: CheckFamily[] = ["ledger", "locks", "fees"];
  if (options.books) {
    mismatches.push(...(await checkBooks(tx, options.books)));
    checks.push("books");
  }
  return report(checks, ledger.assets, mismatches);
}

/**
 * The ledger family alone, in its own snapshot: its invariants hold for any sequence of ledger
 * calls, so tests that post raw ledger entries (locks without an order) can still assert them.
 */
export async function reconcileLedger(db: Database): Promise<ReconciliationReport> {
  const ledger = await inSnapshot(db, checkLedger);
  return report(["ledger"], ledger.assets, ledger.mismatches);
}

function report(checks: CheckFamily[], assets: AssetTotals[], mismatches: Mismatch[]): ReconciliationReport {
  return { ok: mismatches.length === 0, checkedAt: new Date(), checks, assets, mismatches };
}

/** Mismatches per kind, for logs and alerts. */
export function countByKind(mismatches: readonly Mismatch[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of mismatches) counts[m.kind] = (counts[m.kind] ?? 0) + 1;
  return counts;
}

/** JSON-safe form (bigints as strings) for logs and the admin endpoint. */
export function serializeMismatch(m: Mismatch): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(m, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as Record<string, unknown>;
}
