import { sql } from "drizzle-orm";

/** Cap per kind of mismatch, so a badly broken state still yields a readable report. */
export const MAX_ROWS = 100;

export type Row = Record<string, unknown>;

/** Amounts come back as text (numeric(78, 0) does not fit a JS number). */
export const big = (v: unknown): bigint => BigInt(String(v ?? "0"));

/**
 * Order statuses whose lock is still held. Spelled as the `orders_user_open_idx` predicate so
 * Postgres can use that partial index.
 */
export const OPEN_ORDER = sql.raw(`('pending', 'new', 'partially_filled')`);

/** Final order statuses: whatever the fills did not consume has been released. */
export const CLOSED_ORDER = sql.raw(`('filled', 'cancelled', 'expired', 'rejected')`);

/**
 * Withdrawal statuses that still hold their lock (src/services/withdrawals.ts): the request
 * locks `amount` (the fee is part of it); `sent` takes it out of the ledger, `rejected` and
 * `cancelled` release it.
 */
export const HELD_WITHDRAWAL = sql.raw(`('pending_approval', 'approved')`);

/** Withdrawals whose fee went to fee income (posted by the `sent` transition). */
export const SENT_WITHDRAWAL = sql.raw(`('sent', 'completed')`);
