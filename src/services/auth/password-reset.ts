import { and, eq, isNull, sql } from "drizzle-orm";
import { passwordResetTokens, users } from "../../db/schema";
import { authConfig } from "../../lib/auth-config";
import { AppError, ErrorCode } from "../../lib/errors";
import { hashPassword } from "../../lib/password-hash";
import { randomToken, sha256Hex } from "../../lib/secure-random";
import { recordAudit } from "../../domain/audit-log";
import { holdWithdrawals } from "../withdrawal-hold";
import { forgetUserApiKeys, revokeUserApiKeys } from "./api-keys";
import { afterCommit, userEvent, type ServiceContext } from "./context";
import { tombstoneSessions } from "./session-cache";
import { refusePasswordBuiltOnEmail, revokeUserSessions } from "./sessions";
import { normalizeEmail } from "../../domain/auth/user-view";

/**
 * Password reset by email: a single-use token valid for 30 minutes travels in the
 * `user.password_reset.requested` event for the mailer (and the development log), as email
 * verification does. Confirming it sets the new password, ends every session, revokes every
 * API key and holds withdrawals for 24 h. 2FA stays on: a mailbox alone does not sign in.
 */

export const PASSWORD_RESET_TTL_MS = 30 * 60_000;

/**
 * Issues a token when `email` names a live account, and does nothing otherwise. The route runs
 * this after answering 202, so neither the answer nor its timing says whether the email exists.
 */
export async function requestPasswordReset(ctx: ServiceContext, email: string): Promise<void> {
  const normalized = normalizeEmail(email);
  const [user] = await ctx.db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(sql`lower(${users.email})`, normalized), isNull(users.deletedAt)));
  if (!user) return;
  const token = randomToken();
  const expiresAt = new Date(Date.now() + PASSWORD_RESET_TTL_MS);
  await ctx.db.transaction(async (tx) => {
    await tx
      .insert(passwordResetTokens)
      .values({ userId: user.id, tokenHash: await sha256Hex(token), expiresAt });
    await recordAudit(tx, {
      actorId: null,
      actorType: "anonymous",
      action: "user.password_reset.request",
      resourceType: "user",
      resourceId: user.id,
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.password_reset.requested", user.id, {
      email: normalized,
      password_reset: { token, expires_at: expiresAt.toISOString() },
    });
  });
  if (ctx.env.ENVIRONMENT === "development") {
    // Local only: no mailer runs in development, so the token is in the log.
    ctx.log.info("password reset token (development only)", {
      user_id: user.id,
      confirm_path: `/api/v1/auth/password-reset/confirm {"token":"${token}","new_password":"..."}`,
    });
  }
}

export interface PasswordResetResult {
  revoked_sessions: number;
  revoked_api_keys: number;
  withdrawals_held_until: string;
}

const tokenError = (code: string, message: string) => new AppError(400, code, message);

/** Spends the token and sets the new password; every session and API key of the user ends. */
export async function confirmPasswordReset(
  ctx: ServiceContext,
  input: { token: string; new_password: string },
): Promise<PasswordResetResult> {
  const tokenHash = await sha256Hex(input.token);
  const [found] = await ctx.db
    .select()
    .from(passwordResetTokens)
    .where(eq(passwordResetTokens.tokenHash, tokenHash));
  if (!found) throw tokenError(ErrorCode.INVALID_RESET_TOKEN, "The password reset token is invalid");
  if (found.usedAt)
    throw tokenError(ErrorCode.RESET_TOKEN_USED, "This password reset token was already used");
  if (found.expiresAt.getTime() <= Date.now()) {
    throw tokenError(
      ErrorCode.RESET_TOKEN_EXPIRED,
      "This password reset token has expired; request a new one",
    );
  }
  const [owner] = await ctx.db.select({ email: users.email }).from(users).where(eq(users.id, found.userId));
  if (owner) refusePasswordBuiltOnEmail(input.new_password, owner.email);
  const passwordHash = await hashPassword(input.new_password, authConfig(ctx.env).argon2);
  const outcome = await ctx.db.transaction(async (tx) => {
    // The conditional UPDATE makes the token single-use even against a concurrent confirm.
    const spent = await tx
      .update(passwordResetTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(passwordResetTokens.id, found.id), isNull(passwordResetTokens.usedAt)))
      .returning({ id: passwordResetTokens.id });
    if (spent.length === 0) {
      throw tokenError(ErrorCode.RESET_TOKEN_USED, "This password reset token was already used");
    }
    const [user] = await tx
      .update(users)
      .set({ passwordHash, updatedAt: new Date() })
      .where(and(eq(users.id, found.userId), isNull(users.deletedAt)))
      .returning({ id: users.id });
    if (!user) throw tokenError(ErrorCode.INVALID_RESET_TOKEN, "The password reset token is invalid");
    // Other outstanding reset links of this user die with this one.
    await tx
      .update(passwordResetTokens)
      .set({ usedAt: new Date() })
      .where(and(eq(passwordResetTokens.userId, user.id), isNull(passwordResetTokens.usedAt)));
    const sessions = await revokeUserSessions(tx, user.id, "password_reset");
    const keys = await revokeUserApiKeys(tx, user.id);
    const heldUntil = await holdWithdrawals(tx, user.id);
    const details = { revoked_sessions: sessions.length, revoked_api_keys: keys };
    await recordAudit(tx, {
      actorId: user.id,
      actorType: "user",
      action: "user.password.reset",
      resourceType: "user",
      resourceId: user.id,
      details,
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.password.reset", user.id, details);
    return { sessions, keys, heldUntil, userId: user.id };
  });
  forgetUserApiKeys(outcome.userId);
  await afterCommit(ctx, "password-reset", () => tombstoneSessions(ctx.redis, outcome.sessions));
  return {
    revoked_sessions: outcome.sessions.length,
    revoked_api_keys: outcome.keys,
    withdrawals_held_until: outcome.heldUntil.toISOString(),
  };
}
