import { and, eq, gt, inArray, sql } from "drizzle-orm";
import { keysetPage, matching, nextTimeCursor, timeKeyset, type TimeCursor } from "../db/keyset";
import type { Database, DbTransaction } from "../db/client";
import { assets, users, withdrawals } from "../db/schema";
import type { RequestMetadata } from "../http/request-metadata";
import { isValidAddress } from "../lib/chain-addresses";
import { AppError, ErrorCode, notFound, unprocessable } from "../lib/errors";
import { formatUnits } from "../lib/money";
import { findAsset, parseAmount, requireOnChain } from "./assets";
import { recordAudit, type AuditEntry } from "../domain/audit-log";
import { requireSecondFactor, type SecondFactorDeps } from "./auth/second-factor";
import { enqueueEvent } from "../domain/events/event-outbox";
import { adminCreditors, lookbackStart, requireSecondAdmin } from "./four-eyes";
import {
  EXTERNAL_WITHDRAWALS,
  FEE_INCOME,
  lockFunds,
  postJournalEntry,
  releaseFunds,
  userLocked,
} from "../domain/ledger/ledger";
import { configuredUnits, type WalletConfig } from "./wallet-config";
import { requireAllowedDestination } from "./withdrawal-addresses";

/**
 * Withdrawals: requested (funds locked at once) → pending_approval (once the user's rolling
 * 24 h total in the asset passes its threshold, and always for four-eyes cases, see
 * four-eyes.ts) or approved → sent (tx hash; the funds leave the ledger: amount − fee to the
 * outside world, fee to fee income) → completed. pending_approval / approved may end as
 * rejected (admin) or cancelled (user), which releases the funds. Repeating the transition a
 * withdrawal already made is a no-op; any other move from the wrong state is a 409.
 */

export type Withdrawal = typeof withdrawals.$inferSelect;
export type WithdrawalStatus = Withdrawal["status"];
export type WithdrawalWithDecimals = Withdrawal & { decimals: number };

export interface Actor {
  id: string;
  type: AuditEntry["actorType"];
}

export interface WithdrawalRequest {
  userId: string;
  asset: string;
  address: string;
  amount: string;
  idempotencyKey: string;
  /** Required from a signed-in user with 2FA on (signed API requests are exempt). */
  totpCode?: string;
}

/** Statuses whose amount still counts against the daily limit. */
const COUNTED: WithdrawalStatus[] = ["pending_approval", "approved", "sent", "completed"];
const RELEASABLE: WithdrawalStatus[] = ["pending_approval", "approved"];

/**
 * Before any money moves: KYC, the 24 h hold after security changes, a fresh 2FA code from a
 * signed-in user (a `withdraw` API key was itself created with one and is bound to its IPs),
 * and with `allowlist_only` an allow-listed address past its waiting period.
 * `secondFactor` is needed only when the user has 2FA on.
 */
export async function requestWithdrawal(
  db: Database,
  config: WalletConfig,
  request: WithdrawalRequest,
  actor: Actor,
  metadata: RequestMetadata,
  secondFactor?: SecondFactorDeps,
): Promise<{ withdrawal: WithdrawalWithDecimals; created: boolean }> {
  const asset = await findAsset(db, request.asset, "body");
  const chain = requireOnChain(asset);
  const amount = parseAmount(asset, request.amount);
  if (!isValidAddress(chain, request.address, config.bitcoinNetwork)) {
    throw unprocessable(`Not a valid ${asset.code} address`, ErrorCode.INVALID_ADDRESS, { field: "address" });
  }
  const minimum = asset.minWithdrawal > asset.withdrawalFee ? asset.minWithdrawal : asset.withdrawalFee + 1n;
  if (amount < minimum) {
    throw unprocessable(
      `The minimum ${asset.code} withdrawal is ${formatUnits(minimum, asset.decimals)}`,
      ErrorCode.BELOW_MINIMUM,
      {
        minimum: formatUnits(minimum, asset.decimals),
        fee: formatUnits(asset.withdrawalFee, asset.decimals),
      },
    );
  }

  return db.transaction(async (tx) => {
    // One withdrawal request per user at a time: the daily-limit sum below cannot race.
    await tx.execute(
      sql`select pg_advisory_xact_lock(hashtextextended(${`withdrawal:${request.userId}`}, 0))`,
    );
    const [user] = await tx.select().from(users).where(eq(users.id, request.userId));
    if (!user || user.deletedAt) throw notFound("User");
    // The stored KYC status, not the one in a possibly older token.
    if (user.kycStatus !== "verified") {
      throw new AppError(403, ErrorCode.KYC_REQUIRED, "Withdrawals need a verified identity (KYC)", {
        kyc_status: user.kycStatus,
      });
    }
    const [replay] = await tx
      .select()
      .from(withdrawals)
      .where(
        and(eq(withdrawals.userId, request.userId), eq(withdrawals.idempotencyKey, request.idempotencyKey)),
      );
    if (replay) {
      if (replay.asset !== asset.code || replay.amount !== amount || replay.address !== request.address) {
        throw unprocessable(
          "This Idempotency-Key was used for a different withdrawal",
          ErrorCode.IDEMPOTENCY_KEY_REUSED,
        );
      }
      return { withdrawal: { ...replay, decimals: asset.decimals }, created: false };
    }
    if (user.withdrawalsHeldUntil && user.withdrawalsHeldUntil.getTime() > Date.now()) {
      throw new AppError(
        403,
        ErrorCode.WITHDRAWAL_HOLD,
        "Withdrawals are held for 24 hours after a password, 2FA or withdraw-key change",
        { held_until: user.withdrawalsHeldUntil.toISOString() },
      );
    }
    if (actor.type === "user" && user.twoFactorEnabledAt) {
      if (!secondFactor) throw new Error("requestWithdrawal: a 2FA user's request needs secondFactor");
      await requireSecondFactor(secondFactor, tx, user, { totpCode: request.totpCode });
    }
    if (user.withdrawalAllowlistOnly) {
      await requireAllowedDestination(tx, request.userId, asset.code, chain, request.address);
    }

    const limit = configuredUnits(config.dailyLimits[user.kycStatus]?.[asset.code], asset.decimals) ?? 0n;
    const [used] = await tx
      .select({ total: sql<string>`coalesce(sum(${withdrawals.amount}), 0)::text` })
      .from(withdrawals)
      .where(
        and(
          eq(withdrawals.userId, request.userId),
          eq(withdrawals.asset, asset.code),
          inArray(withdrawals.status, COUNTED),
          gt(withdrawals.createdAt, sql`now() - interval '24 hours'`),
        ),
      );
    const usedToday = BigInt(used!.total);
    if (usedToday + amount > limit) {
      throw unprocessable(
        `This exceeds your daily ${asset.code} withdrawal limit`,
        ErrorCode.DAILY_LIMIT_EXCEEDED,
        {
          limit: formatUnits(limit, asset.decimals),
          used: formatUnits(usedToday, asset.decimals),
        },
      );
    }

    // The threshold bounds what leaves unreviewed per rolling 24 h, not per request: twenty
    // withdrawals just under it add up.
    const threshold = configuredUnits(config.approvalThresholds[asset.code], asset.decimals);
    const approval =
      threshold === null || usedToday + amount > threshold
        ? "threshold"
        : user.role === "admin"
          ? "admin_account"
          : (await adminCreditors(tx, request.userId, asset.code, lookbackStart(new Date()))).length > 0
            ? "admin_credit"
            : null;
    const needsApproval = approval !== null;
    const [withdrawal] = await tx
      .insert(withdrawals)
      .values({
        userId: request.userId,
        asset: asset.code,
        address: request.address,
        amount,
        fee: asset.withdrawalFee,
        status: needsApproval ? "pending_approval" : "approved",
        idempotencyKey: request.idempotencyKey,
      })
      .returning();
    const w = { ...withdrawal!, decimals: asset.decimals };
    await lockFunds(tx, {
      userId: request.userId,
      asset: asset.code,
      amount,
      type: "withdrawal.lock",
      reference: w.id,
    });
    await recordAudit(tx, {
      actorId: actor.id,
      actorType: actor.type,
      action: "withdrawal.request",
      resourceType: "withdrawal",
      resourceId: w.id,
      details: {
        asset: asset.code,
        amount: formatUnits(amount, asset.decimals),
        status: w.status,
        approval_reason: approval,
      },
      metadata,
    });
    await withdrawalEvent(tx, "withdrawal.requested", w, metadata);
    if (!needsApproval) await withdrawalEvent(tx, "withdrawal.approved", w, metadata, { automatic: true });
    return { withdrawal: w, created: true };
  });
}

type Transition = "approve" | "reject" | "cancel" | "sent" | "complete";

const TARGET: Record<Transition, WithdrawalStatus> = {
  approve: "approved",
  reject: "rejected",
  cancel: "cancelled",
  sent: "sent",
  complete: "completed",
};
const FROM: Record<Transition, WithdrawalStatus[]> = {
  approve: ["pending_approval"],
  reject: RELEASABLE,
  cancel: RELEASABLE,
  sent: ["approved"],
  complete: ["sent"],
};
const EVENT: Record<Transition, string> = {
  approve: "withdrawal.approved",
  reject: "withdrawal.rejected",
  cancel: "withdrawal.cancelled",
  sent: "withdrawal.sent",
  complete: "withdrawal.completed",
};

export interface TransitionInput {
  withdrawalId: string;
  /** For a user's own cancel: the withdrawal must be theirs (otherwise 404). */
  ownerId?: string;
  reason?: string;
  txHash?: string;
}

/** Moves a withdrawal along its life cycle, with the ledger entry that goes with it, in one transaction. */
export async function transitionWithdrawal(
  db: Database,
  transition: Transition,
  input: TransitionInput,
  actor: Actor,
  metadata: RequestMetadata,
): Promise<WithdrawalWithDecimals> {
  if (transition === "sent" && !input.txHash) {
    throw unprocessable("A sent withdrawal needs its tx hash", ErrorCode.VALIDATION_FAILED, {
      field: "tx_hash",
    });
  }
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ w: withdrawals, decimals: assets.decimals })
      .from(withdrawals)
      .innerJoin(assets, eq(assets.code, withdrawals.asset))
      .where(
        and(
          eq(withdrawals.id, input.withdrawalId),
          input.ownerId ? eq(withdrawals.userId, input.ownerId) : undefined,
        ),
      )
      .for("update", { of: withdrawals });
    if (!row) throw notFound("Withdrawal");
    const current: WithdrawalWithDecimals = { ...row.w, decimals: row.decimals };
    const target = TARGET[transition];
    if (current.status === target) {
      if (transition === "sent" && input.txHash && input.txHash !== current.txHash) {
        throw new AppError(
          409,
          ErrorCode.INVALID_STATE,
          "The withdrawal was already sent with another tx hash",
        );
      }
      return current; // the same transition again: nothing to do
    }
    if (!FROM[transition].includes(current.status)) {
      throw new AppError(409, ErrorCode.INVALID_STATE, `A ${current.status} withdrawal cannot be ${target}`, {
        status: current.status,
      });
    }
    if (transition === "approve") await requireSecondAdmin(tx, current, actor.id);

    const ledgerRef = { reference: current.id, metadata: { withdrawal_id: current.id } };
    if (transition === "reject" || transition === "cancel") {
      await releaseFunds(tx, {
        userId: current.userId,
        asset: current.asset,
        amount: current.amount,
        type: "withdrawal.release",
        ...ledgerRef,
      });
    } else if (transition === "sent") {
      await postJournalEntry(tx, {
        type: "withdrawal.send",
        ...ledgerRef,
        postings: [
          { account: userLocked(current.userId), asset: current.asset, amount: -current.amount },
          { account: EXTERNAL_WITHDRAWALS, asset: current.asset, amount: current.amount - current.fee },
          ...(current.fee > 0n ? [{ account: FEE_INCOME, asset: current.asset, amount: current.fee }] : []),
        ],
      });
    }

    const [updated] = await tx
      .update(withdrawals)
      .set({
        status: target,
        updatedAt: sql`now()`,
        ...(actor.type === "admin" ? { reviewedBy: actor.id } : {}),
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        ...(transition === "sent" ? { txHash: input.txHash, sentAt: sql`now()` } : {}),
        ...(transition === "complete" ? { completedAt: sql`now()` } : {}),
      })
      .where(eq(withdrawals.id, current.id))
      .returning();
    const w = { ...updated!, decimals: current.decimals };
    await recordAudit(tx, {
      actorId: actor.id,
      actorType: actor.type,
      action: `withdrawal.${transition}`,
      resourceType: "withdrawal",
      resourceId: w.id,
      details: { from: current.status, to: target, reason: input.reason, tx_hash: input.txHash },
      metadata,
    });
    await withdrawalEvent(tx, EVENT[transition], w, metadata, input.reason ? { reason: input.reason } : {});
    return w;
  });
}

async function withdrawalEvent(
  tx: DbTransaction,
  type: string,
  w: WithdrawalWithDecimals,
  metadata: RequestMetadata,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await enqueueEvent(tx, {
    stream: "wallet:events",
    type,
    userId: w.userId,
    payload: {
      withdrawal_id: w.id,
      asset: w.asset,
      amount: formatUnits(w.amount, w.decimals),
      fee: formatUnits(w.fee, w.decimals),
      address: w.address,
      status: w.status,
      ...(w.txHash ? { tx_hash: w.txHash } : {}),
      ...extra,
    },
    metadata,
  });
}

export interface WithdrawalQuery {
  userId?: string;
  asset?: string;
  status?: WithdrawalStatus;
  /** Keyset cursor: rows strictly older than this (created_at, id). */
  before?: TimeCursor;
  limit: number;
}

/** Withdrawals newest first, with keyset pagination on (created_at, id). */
export async function listWithdrawals(
  db: Database,
  q: WithdrawalQuery,
): Promise<{ items: WithdrawalWithDecimals[]; next: TimeCursor | null }> {
  const page = await keysetPage(
    db
      .select({ w: withdrawals, decimals: assets.decimals })
      .from(withdrawals)
      .innerJoin(assets, eq(assets.code, withdrawals.asset))
      .$dynamic(),
    matching([withdrawals.userId, q.userId], [withdrawals.asset, q.asset], [withdrawals.status, q.status]),
    timeKeyset(withdrawals.createdAt, withdrawals.id, q.before),
    q.limit,
  );
  const items = page.items.map((r) => ({ ...r.w, decimals: r.decimals }));
  return { items, next: nextTimeCursor({ items, more: page.more }) };
}
