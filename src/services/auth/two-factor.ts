import { eq } from "drizzle-orm";
import type { DbTransaction } from "../../db/client";
import { recoveryCodes, userTotp, users } from "../../db/schema";
import { ErrorCode, conflict } from "../../lib/errors";
import { newTotpSecret, totpUri } from "../../lib/totp";
import { recordAudit } from "../../domain/audit-log";
import { holdWithdrawals } from "../withdrawal-hold";
import { lockUser } from "./lock-user";
import { afterCommit, userEvent, type ServiceContext } from "./context";
import { requireCurrentPassword } from "./current-password";
import {
  RECOVERY_CODE_COUNT,
  newRecoveryCode,
  recoveryCodeHash,
  requireSecondFactor,
  sealTotpSecret,
} from "./second-factor";
import { overwriteSnapshots } from "./session-cache";
import { liveSessionIds } from "./sessions";
import { toUserView, type UserRow } from "../../domain/auth/user-view";

/**
 * TOTP two-factor authentication: setup (a new secret, not yet in force) → enable (the first
 * code proves the app has it; one-time recovery codes are issued) → disable (password and a
 * code). Turning 2FA on or off holds withdrawals for 24 h.
 */

export const TOTP_ISSUER = "Pandora";

const alreadyEnabled = () =>
  conflict("Two-factor authentication is already on", ErrorCode.TWO_FACTOR_ALREADY_ENABLED);

interface Switched {
  row: UserRow;
  heldUntil: Date;
  sessionIds: string[];
}

/** 2FA on or off: the flag, the 24 h withdrawal hold, the audit row and the event. */
async function switchTwoFactor(
  ctx: ServiceContext,
  tx: DbTransaction,
  userId: string,
  on: boolean,
  details?: Record<string, unknown>,
): Promise<Switched> {
  const [row] = await tx
    .update(users)
    .set({ twoFactorEnabledAt: on ? new Date() : null, updatedAt: new Date() })
    .where(eq(users.id, userId))
    .returning();
  const heldUntil = await holdWithdrawals(tx, userId);
  await recordAudit(tx, {
    actorId: userId,
    actorType: "user",
    action: on ? "user.two_factor.enable" : "user.two_factor.disable",
    resourceType: "user",
    resourceId: userId,
    details,
    metadata: ctx.metadata,
  });
  await userEvent(tx, ctx, on ? "user.two_factor.enabled" : "user.two_factor.disabled", userId, {});
  return { row: row!, heldUntil, sessionIds: await liveSessionIds(tx, userId) };
}

/** Live sessions show the new `two_factor_enabled` at once (see session-cache.ts). */
function refreshSnapshots(ctx: ServiceContext, switched: Switched): Promise<void> {
  return afterCommit(ctx, "two-factor", () =>
    overwriteSnapshots(ctx.redis, switched.sessionIds, toUserView(switched.row)),
  );
}

/** A fresh secret for the authenticator app; replaces an unconfirmed one. */
export async function setupTwoFactor(
  ctx: ServiceContext,
  userId: string,
): Promise<{ secret: string; otpauth_url: string }> {
  const secret = newTotpSecret();
  const sealed = await sealTotpSecret(ctx.env, userId, secret);
  const email = await ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    if (user.twoFactorEnabledAt) throw alreadyEnabled();
    await tx
      .insert(userTotp)
      .values({ userId, secretCiphertext: sealed })
      .onConflictDoUpdate({
        target: userTotp.userId,
        set: { secretCiphertext: sealed, lastUsedStep: null, createdAt: new Date() },
      });
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "user.two_factor.setup",
      resourceType: "user",
      resourceId: userId,
      metadata: ctx.metadata,
    });
    return user.email;
  });
  return { secret, otpauth_url: totpUri(secret, email, TOTP_ISSUER) };
}

/** Turns 2FA on once `code` matches the secret from setup; returns the recovery codes (shown once). */
export async function enableTwoFactor(
  ctx: ServiceContext,
  userId: string,
  code: string,
): Promise<{ recovery_codes: string[]; withdrawals_held_until: string }> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const hashes = await Promise.all(codes.map(recoveryCodeHash));
  const outcome = await ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    if (user.twoFactorEnabledAt) throw alreadyEnabled();
    const [pending] = await tx
      .select({ userId: userTotp.userId })
      .from(userTotp)
      .where(eq(userTotp.userId, userId));
    if (!pending) {
      throw conflict("Call 2fa/setup first", ErrorCode.TWO_FACTOR_NOT_SET_UP);
    }
    // Checked as if 2FA were on already: the code must match the new secret (same attempt limit).
    await requireSecondFactor(ctx, tx, { id: userId, twoFactorEnabledAt: new Date() }, { totpCode: code });
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    await tx.insert(recoveryCodes).values(hashes.map((codeHash) => ({ userId, codeHash })));
    return switchTwoFactor(ctx, tx, userId, true);
  });
  await refreshSnapshots(ctx, outcome);
  return { recovery_codes: codes, withdrawals_held_until: outcome.heldUntil.toISOString() };
}

/** Turns 2FA off: needs the password and a code (TOTP, or a recovery code for a lost phone). */
export async function disableTwoFactor(
  ctx: ServiceContext,
  userId: string,
  input: { code: string; password: string },
): Promise<{ withdrawals_held_until: string }> {
  await requireCurrentPassword(ctx, userId, input.password);
  const outcome = await ctx.db.transaction(async (tx) => {
    const user = await lockUser(tx, userId);
    if (!user.twoFactorEnabledAt) {
      throw conflict("Two-factor authentication is not on", ErrorCode.TWO_FACTOR_NOT_ENABLED);
    }
    const proof = /^\d{6}$/.test(input.code) ? { totpCode: input.code } : { recoveryCode: input.code };
    await requireSecondFactor(ctx, tx, user, proof);
    await tx.delete(userTotp).where(eq(userTotp.userId, userId));
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    return switchTwoFactor(ctx, tx, userId, false, { with: "totpCode" in proof ? "totp" : "recovery_code" });
  });
  await refreshSnapshots(ctx, outcome);
  return { withdrawals_held_until: outcome.heldUntil.toISOString() };
}
