import { and, asc, count, eq, sql } from "drizzle-orm";
import type { DbExecutor } from "../db/client";
import { users, withdrawalAddresses } from "../db/schema";
import type { Chain } from "../lib/chain-addresses";
import { isValidAddress, normalizeAddress } from "../lib/chain-addresses";
import { AppError, ErrorCode, conflict, notFound, unprocessable } from "../lib/errors";
import { recordAudit } from "../domain/audit-log";
import { findAsset, requireOnChain } from "./assets";
import type { ServiceContext } from "./auth/context";
import { lockUser } from "./auth/lock-user";
import { requireSecondFactor } from "./auth/second-factor";
import type { WalletConfig } from "./wallet-config";
import { holdWithdrawals } from "./withdrawal-hold";

/**
 * The withdrawal address allow-list. An entry becomes usable 24 h after it was added; with the
 * user's `allowlist_only` setting on, withdrawals go only to usable entries. Adding an entry or
 * switching the setting off asks for a fresh 2FA code (when on); switching it off also holds
 * withdrawals for 24 h, so a stolen session gains nothing by it.
 */

export const ADDRESS_DELAY_HOURS = 24;
export const MAX_ADDRESSES_PER_USER = 50;

export type WithdrawalAddress = typeof withdrawalAddresses.$inferSelect;

export interface AllowList {
  allowlistOnly: boolean;
  addresses: WithdrawalAddress[];
}

export async function listWithdrawalAddresses(db: DbExecutor, userId: string): Promise<AllowList> {
  const [user] = await db
    .select({ allowlistOnly: users.withdrawalAllowlistOnly })
    .from(users)
    .where(eq(users.id, userId));
  if (!user) throw notFound("User");
  const addresses = await db
    .select()
    .from(withdrawalAddresses)
    .where(eq(withdrawalAddresses.userId, userId))
    .orderBy(asc(withdrawalAddresses.createdAt), asc(withdrawalAddresses.id));
  return { allowlistOnly: user.allowlistOnly, addresses };
}

export interface NewAddress {
  asset: string;
  address: string;
  label?: string;
  totpCode?: string;
}

export async function addWithdrawalAddress(
  ctx: ServiceContext,
  config: WalletConfig,
  userId: string,
  input: NewAddress,
): Promise<WithdrawalAddress> {
  const asset = await findAsset(ctx.db, input.asset, "body");
  const chain = requireOnChain(asset);
  if (!isValidAddress(chain, input.address, config.bitcoinNetwork)) {
    throw unprocessable(`Not a valid ${asset.code} address`, ErrorCode.INVALID_ADDRESS, { field: "address" });
  }
  return ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    await requireSecondFactor(ctx, tx, user, { totpCode: input.totpCode });
    const [existing] = await tx
      .select({ n: count() })
      .from(withdrawalAddresses)
      .where(eq(withdrawalAddresses.userId, userId));
    if ((existing?.n ?? 0) >= MAX_ADDRESSES_PER_USER) {
      throw conflict(`At most ${MAX_ADDRESSES_PER_USER} allow-listed addresses per account`);
    }
    const [row] = await tx
      .insert(withdrawalAddresses)
      .values({
        userId,
        asset: asset.code,
        address: input.address,
        addressKey: normalizeAddress(chain, input.address),
        label: input.label ?? null,
        usableAfter: sql`now() + make_interval(hours => ${ADDRESS_DELAY_HOURS})`,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict("This address is already on the allow-list for this asset");
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "withdrawal_address.add",
      resourceType: "withdrawal_address",
      resourceId: row.id,
      details: { asset: row.asset, address: row.address, usable_after: row.usableAfter.toISOString() },
      metadata: ctx.metadata,
    });
    return row;
  });
}

export async function removeWithdrawalAddress(
  ctx: ServiceContext,
  userId: string,
  id: string,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .delete(withdrawalAddresses)
      .where(and(eq(withdrawalAddresses.id, id), eq(withdrawalAddresses.userId, userId)))
      .returning();
    if (!row) throw notFound("Withdrawal address");
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "withdrawal_address.remove",
      resourceType: "withdrawal_address",
      resourceId: id,
      details: { asset: row.asset, address: row.address },
      metadata: ctx.metadata,
    });
  });
}

/** Switches `allowlist_only`; switching it off needs a fresh 2FA code and holds withdrawals. */
export async function setAllowlistOnly(
  ctx: ServiceContext,
  userId: string,
  input: { allowlistOnly: boolean; totpCode?: string },
): Promise<{ allowlistOnly: boolean; withdrawalsHeldUntil: Date | null }> {
  return ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    if (user.withdrawalAllowlistOnly === input.allowlistOnly) {
      return { allowlistOnly: input.allowlistOnly, withdrawalsHeldUntil: user.withdrawalsHeldUntil };
    }
    let heldUntil = user.withdrawalsHeldUntil;
    if (!input.allowlistOnly) {
      await requireSecondFactor(ctx, tx, user, { totpCode: input.totpCode });
      heldUntil = await holdWithdrawals(tx, userId);
    }
    await tx.update(users).set({ withdrawalAllowlistOnly: input.allowlistOnly }).where(eq(users.id, userId));
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "withdrawal_address.allowlist_only",
      resourceType: "user",
      resourceId: userId,
      details: { allowlist_only: input.allowlistOnly },
      metadata: ctx.metadata,
    });
    return { allowlistOnly: input.allowlistOnly, withdrawalsHeldUntil: heldUntil };
  });
}

/**
 * With `allowlist_only` on, the destination must be an entry for this asset that is past its
 * waiting period. Called inside the withdrawal's transaction.
 */
export async function requireAllowedDestination(
  tx: DbExecutor,
  userId: string,
  asset: string,
  chain: Chain,
  address: string,
): Promise<void> {
  const [entry] = await tx
    .select({ usableAfter: withdrawalAddresses.usableAfter })
    .from(withdrawalAddresses)
    .where(
      and(
        eq(withdrawalAddresses.userId, userId),
        eq(withdrawalAddresses.asset, asset),
        eq(withdrawalAddresses.addressKey, normalizeAddress(chain, address)),
      ),
    );
  if (!entry) {
    throw new AppError(
      403,
      ErrorCode.ADDRESS_NOT_ALLOWLISTED,
      "Withdrawals go only to allow-listed addresses (allowlist_only is on)",
      { asset, address },
    );
  }
  if (entry.usableAfter.getTime() > Date.now()) {
    throw new AppError(
      403,
      ErrorCode.ADDRESS_NOT_YET_USABLE,
      "This allow-listed address is usable 24 hours after it was added",
      { usable_after: entry.usableAfter.toISOString() },
    );
  }
}
