import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { ledgerPostings, users } from "../db/schema";
import type { RequestMetadata } from "../http/request-metadata";
import { ErrorCode, notFound, unprocessable } from "../lib/errors";
import { formatUnits } from "../lib/money";
import { findAsset, parseAmount } from "./assets";
import { recordAudit } from "../domain/audit-log";
import { enqueueEvent } from "../domain/events/event-outbox";
import { ADJUSTMENTS, getBalance, postJournalEntry, userAvailable } from "../domain/ledger/ledger";

export interface AdjustmentInput {
  userId: string;
  asset: string;
  /** Signed decimal string: positive credits the user, negative debits (never below zero). */
  amount: string;
  reason: string;
  /** Makes a retried request a no-op (defaults to a fresh id). */
  reference?: string;
}

export interface AdjustmentResult {
  entryId: bigint;
  applied: boolean;
  asset: string;
  decimals: number;
  amount: bigint;
  balance: { available: bigint; locked: bigint };
}

/**
 * An admin's correction of a user's available balance, against the `adjustments` account,
 * with its reason in the journal entry and the audit log.
 */
export async function adjustBalance(
  db: Database,
  input: AdjustmentInput,
  adminId: string,
  metadata: RequestMetadata,
): Promise<AdjustmentResult> {
  const asset = await findAsset(db, input.asset, "body");
  const amount = parseAmount(asset, input.amount, "amount", { signed: true });
  const reason = input.reason.trim();
  if (!reason)
    throw unprocessable("An adjustment needs a reason", ErrorCode.VALIDATION_FAILED, { field: "reason" });
  return db.transaction(async (tx) => {
    const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, input.userId));
    if (!user) throw notFound("User");
    const result = await postJournalEntry(tx, {
      type: "adjustment",
      reference: input.reference ?? crypto.randomUUID(),
      metadata: { reason, admin_id: adminId },
      postings: [
        { account: ADJUSTMENTS, asset: asset.code, amount: -amount },
        { account: userAvailable(input.userId), asset: asset.code, amount },
      ],
    });
    if (!result.applied) {
      // The reference was used before: a retry of the same adjustment is a no-op, another one is refused.
      const [previous] = await tx
        .select({ userId: ledgerPostings.userId, asset: ledgerPostings.asset, amount: ledgerPostings.amount })
        .from(ledgerPostings)
        .where(and(eq(ledgerPostings.entryId, result.entryId), eq(ledgerPostings.account, "user_available")));
      if (
        !previous ||
        previous.userId !== input.userId ||
        previous.asset !== asset.code ||
        previous.amount !== amount
      ) {
        throw unprocessable(
          "This Idempotency-Key was used for a different adjustment",
          ErrorCode.IDEMPOTENCY_KEY_REUSED,
        );
      }
    }
    if (result.applied) {
      const details = { asset: asset.code, amount: formatUnits(amount, asset.decimals), reason };
      await recordAudit(tx, {
        actorId: adminId,
        actorType: "admin",
        action: "balance.adjust",
        resourceType: "balance",
        resourceId: `${input.userId}:${asset.code}`,
        details: { user_id: input.userId, entry_id: result.entryId.toString(), ...details },
        metadata,
      });
      await enqueueEvent(tx, {
        stream: "wallet:events",
        type: "balance.adjusted",
        userId: input.userId,
        payload: details,
        metadata,
      });
    }
    return {
      entryId: result.entryId,
      applied: result.applied,
      asset: asset.code,
      decimals: asset.decimals,
      amount,
      balance: await getBalance(tx, input.userId, asset.code),
    };
  });
}
