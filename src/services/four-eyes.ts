import { and, eq, gt, sql } from "drizzle-orm";
import type { DbExecutor } from "../db/client";
import { ledgerEntries, ledgerPostings } from "../db/schema";
import { AppError, ErrorCode } from "../lib/errors";

/**
 * Four eyes on money an admin could move to themselves or an accomplice: a withdrawal of an
 * admin's own account, or one by a user an admin credited (an `adjustment`) in this asset
 * within the last 30 days, always waits for approval, and neither that admin nor the owner
 * may give it; a second admin must.
 */

export const ADMIN_CREDIT_LOOKBACK_DAYS = 30;

/** Admins who credited the user's `asset` since `since` (by adjustment, positive amounts). */
export async function adminCreditors(
  db: DbExecutor,
  userId: string,
  asset: string,
  since: Date,
): Promise<string[]> {
  const rows = await db
    .selectDistinct({ adminId: sql<string>`${ledgerEntries.metadata}->>'admin_id'` })
    .from(ledgerPostings)
    .innerJoin(ledgerEntries, eq(ledgerEntries.id, ledgerPostings.entryId))
    .where(
      and(
        eq(ledgerPostings.userId, userId),
        eq(ledgerPostings.account, "user_available"),
        eq(ledgerPostings.asset, asset),
        gt(ledgerPostings.amount, 0n),
        eq(ledgerEntries.type, "adjustment"),
        gt(ledgerEntries.createdAt, since),
      ),
    );
  return rows.map((r) => r.adminId).filter((id): id is string => id !== null);
}

export function lookbackStart(from: Date): Date {
  return new Date(from.getTime() - ADMIN_CREDIT_LOOKBACK_DAYS * 86_400_000);
}

/** Refuses an approval by the withdrawal's owner or by an admin who credited its funds. */
export async function requireSecondAdmin(
  db: DbExecutor,
  withdrawal: { userId: string; asset: string; createdAt: Date },
  adminId: string,
): Promise<void> {
  if (withdrawal.userId === adminId) {
    throw new AppError(403, ErrorCode.FOUR_EYES_REQUIRED, "Another admin must approve your own withdrawal");
  }
  const creditors = await adminCreditors(
    db,
    withdrawal.userId,
    withdrawal.asset,
    lookbackStart(withdrawal.createdAt),
  );
  if (creditors.includes(adminId)) {
    throw new AppError(
      403,
      ErrorCode.FOUR_EYES_REQUIRED,
      "You credited this user's funds: another admin must approve this withdrawal",
    );
  }
}
