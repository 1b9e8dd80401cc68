import { isPgError } from "../../db/pg-errors";
import { AppError, ErrorCode } from "../../lib/errors";

/**
 * A batch that cannot be applied because of what it says, not because of the infrastructure:
 * retrying it as it is fails again, so its culprit entry is found and quarantined instead of
 * stopping the market (see `settleMarket`).
 */
export class SettlementInvariantError extends Error {
  override readonly name = "SettlementInvariantError";
}

/**
 * The order book is not the one whose sequence the market's cursor counts (its storage was
 * reset: a new epoch, or a sequence behind the cursor). Its entries are refused, not skipped as
 * "already settled": an operator must decide what the new object's fills are worth.
 */
export class SettlementEpochError extends Error {
  override readonly name = "SettlementEpochError";
}

/**
 * Whether a failed batch broke an invariant (quarantine its culprit) rather than met a
 * transient failure (retry it whole later): our own checks, the ledger refusing a negative
 * balance, and Postgres data and integrity errors (SQLSTATE classes 22 and 23). Connection
 * losses, timeouts, serialization failures and deadlocks are transient.
 */
export function isInvariantBreach(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof SettlementInvariantError) return true;
    if (e instanceof AppError && e.code === ErrorCode.INSUFFICIENT_FUNDS) return true;
  }
  return isPgError(err, /^2[23][0-9A-Z]{3}$/);
}

/** The error's message for a quarantine row or a refusal (never a stack). */
export function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 1_000 ? `${message.slice(0, 1_000)}…` : message;
}
