import { loginFailures } from "../../lib/metrics/worker-metrics";
import { and, desc, eq, gt, isNull, ne, sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { sessions, users } from "../../db/schema";
import { signAccessToken } from "../../lib/access-token";
import { REFRESH_TOKEN_TTL_MS, authConfig } from "../../lib/auth-config";
import { AppError, ErrorCode, accountBanned, notFound, unprocessable } from "../../lib/errors";
import { leansOnContext, userContextWords } from "../../lib/common-passwords";
import { hashPassword, verifyPassword } from "../../lib/password-hash";
import { randomToken, sha256Hex } from "../../lib/secure-random";
import { recordAudit } from "../../domain/audit-log";
import { holdWithdrawals } from "../withdrawal-hold";
import { forgetUserApiKeys, revokeUserApiKeys } from "./api-keys";
import { afterCommit, userEvent, type ServiceContext } from "./context";
import { dummyHash } from "./dummy-hash";
import { requireCurrentPassword } from "./current-password";
import { requireSecondFactor } from "./second-factor";
import { fillCachedSession, tombstoneSessions } from "./session-cache";
import { normalizeEmail, toUserView, type UserRow, type UserView } from "../../domain/auth/user-view";

/** A refresh token that can still be used: not revoked, not past its absolute or idle expiry. */
const liveAt = (now: Date) =>
  and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now), gt(sessions.idleExpiresAt, now));

export interface TokenPair {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  user: UserView;
}

export type RevokeReason =
  | "rotated"
  | "logout"
  | "logout_all"
  | "revoked"
  | "password_changed"
  | "password_reset"
  | "reuse_detected"
  | "user_deleted";

export const invalidCredentials = () =>
  new AppError(401, ErrorCode.INVALID_CREDENTIALS, "Invalid email or password");
const invalidRefreshToken = () =>
  new AppError(401, ErrorCode.INVALID_REFRESH_TOKEN, "The refresh token is invalid or expired");

/** The same answer as any invalid refresh token; the route knows an event awaits relay. */
export class RefreshTokenReused extends AppError {
  constructor() {
    super(401, ErrorCode.INVALID_REFRESH_TOKEN, "The refresh token is invalid or expired");
  }
}

/** Starts a refresh-token family (a session) and returns the pair to hand to the client. */
async function issueTokens(
  ctx: ServiceContext,
  tx: DbExecutor,
  user: UserRow,
  family: { id: string; parentId: string | null; expiresAt: Date; deviceLabel: string | null },
): Promise<Omit<TokenPair, "access_token" | "expires_in" | "user">> {
  const refreshToken = randomToken(32);
  const now = Date.now();
  const idle = Math.min(now + authConfig(ctx.env).sessionIdleMs, family.expiresAt.getTime());
  await tx.insert(sessions).values({
    familyId: family.id,
    userId: user.id,
    parentId: family.parentId,
    tokenHash: await sha256Hex(refreshToken),
    deviceLabel: family.deviceLabel,
    ipAddress: ctx.metadata.ipAddress,
    userAgent: ctx.metadata.userAgent,
    expiresAt: family.expiresAt,
    idleExpiresAt: new Date(idle),
  });
  return { token_type: "Bearer", refresh_token: refreshToken };
}

async function withAccessToken(
  ctx: ServiceContext,
  user: UserRow,
  sessionId: string,
  pair: Omit<TokenPair, "access_token" | "expires_in" | "user">,
): Promise<TokenPair> {
  const { token, expiresIn } = await signAccessToken(ctx.env, {
    userId: user.id,
    role: user.role,
    sessionId,
  });
  return {
    access_token: token,
    token_type: pair.token_type,
    expires_in: expiresIn,
    refresh_token: pair.refresh_token,
    user: toUserView(user),
  };
}

export interface LoginInput {
  email: string;
  password: string;
  device_label?: string;
  totp_code?: string;
  recovery_code?: string;
}

/**
 * Unknown email, wrong password and deleted account all end in the same 401 after the same
 * Argon2id work. A hash with weaker parameters than the environment's is upgraded here.
 */
export async function login(ctx: ServiceContext, input: LoginInput): Promise<TokenPair> {
  const email = normalizeEmail(input.email);
  const params = authConfig(ctx.env).argon2;
  const [found] = await ctx.db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, email));
  const verdict = await verifyPassword(
    input.password,
    found?.passwordHash ?? (await dummyHash(ctx.db, params)),
    params,
  );
  if (!found || !verdict.ok || found.deletedAt) {
    await recordAudit(ctx.db, {
      actorId: null,
      actorType: "anonymous",
      action: "user.login.failed",
      resourceType: "user",
      resourceId: found?.id ?? null,
      details: { email },
      metadata: ctx.metadata,
    });
    loginFailures.series().inc();
    throw invalidCredentials();
  }
  // Only the right password learns of the ban: the answer reveals nothing to a guesser.
  if (found.status === "banned") {
    await recordAudit(ctx.db, {
      actorId: found.id,
      actorType: "user",
      action: "user.login.banned",
      resourceType: "user",
      resourceId: found.id,
      metadata: ctx.metadata,
    });
    throw accountBanned();
  }
  await secondFactorAtLogin(ctx, found, input);
  const upgraded = verdict.needsRehash ? await hashPassword(input.password, params) : null;
  const familyId = crypto.randomUUID();
  const { user, pair } = await ctx.db.transaction(async (tx) => {
    let user = found;
    if (upgraded) {
      const [row] = await tx
        .update(users)
        .set({ passwordHash: upgraded, updatedAt: new Date() })
        .where(eq(users.id, found.id))
        .returning();
      user = row!;
    }
    const pair = await issueTokens(ctx, tx, user, {
      id: familyId,
      parentId: null,
      expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
      deviceLabel: input.device_label ?? null,
    });
    await recordAudit(tx, {
      actorId: user.id,
      actorType: user.role === "admin" ? "admin" : "user",
      action: "user.login",
      resourceType: "session",
      resourceId: familyId,
      details: { password_rehashed: upgraded !== null },
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.logged_in", user.id, { session_id: familyId });
    return { user, pair };
  });
  await afterCommit(ctx, "login", () => fillCachedSession(ctx.redis, familyId, toUserView(user)));
  return withAccessToken(ctx, user, familyId, pair);
}

/** With 2FA on, a correct password is not enough: a failed code is audited like a failed login. */
async function secondFactorAtLogin(ctx: ServiceContext, user: UserRow, input: LoginInput): Promise<void> {
  const proof = { totpCode: input.totp_code, recoveryCode: input.recovery_code };
  try {
    await requireSecondFactor(ctx, ctx.db, user, proof, 401);
  } catch (err) {
    if (err instanceof AppError && err.code === ErrorCode.INVALID_TWO_FACTOR_CODE) {
      await recordAudit(ctx.db, {
        actorId: null,
        actorType: "anonymous",
        action: "user.login.failed",
        resourceType: "user",
        resourceId: user.id,
        details: { reason: "two_factor" },
        metadata: ctx.metadata,
      });
    }
    throw err;
  }
}

/**
 * Rotates a refresh token. The conditional UPDATE takes the row lock, so of two concurrent
 * refreshes with one token exactly one rotates it; the other then sees a rotated token, which
 * is reuse: the whole family (the newest token included) is revoked, audited and announced.
 */
export async function refresh(ctx: ServiceContext, refreshToken: string): Promise<TokenPair> {
  const tokenHash = await sha256Hex(refreshToken);
  const now = new Date();
  const outcome = await ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .update(sessions)
      .set({ revokedAt: now, revokedReason: "rotated", lastUsedAt: now })
      .where(and(eq(sessions.tokenHash, tokenHash), liveAt(now)))
      .returning();
    if (current) {
      const [user] = await tx
        .select()
        .from(users)
        .where(and(eq(users.id, current.userId), isNull(users.deletedAt)));
      if (!user) return { kind: "invalid" as const };
      // Thrown inside the transaction: the rotation rolls back and the token stays as it was.
      if (user.status === "banned") throw accountBanned();
      const pair = await issueTokens(ctx, tx, user, {
        id: current.familyId,
        parentId: current.id,
        expiresAt: current.expiresAt,
        deviceLabel: current.deviceLabel,
      });
      return { kind: "rotated" as const, user, familyId: current.familyId, pair };
    }
    const [known] = await tx.select().from(sessions).where(eq(sessions.tokenHash, tokenHash));
    if (known?.revokedReason !== "rotated") return { kind: "invalid" as const };
    const revoked = await revokeFamily(tx, known.familyId, "reuse_detected");
    await recordAudit(tx, {
      actorId: null,
      actorType: "anonymous",
      action: "session.reuse_detected",
      resourceType: "session",
      resourceId: known.familyId,
      details: { user_id: known.userId, token_id: known.id, revoked_tokens: revoked },
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.session.reuse_detected", known.userId, {
      session_id: known.familyId,
      revoked_tokens: revoked,
    });
    return { kind: "reuse" as const, familyId: known.familyId };
  });
  if (outcome.kind === "reuse") {
    ctx.log.warn("refresh token reuse: session family revoked");
    await afterCommit(ctx, "reuse", () => tombstoneSessions(ctx.redis, [outcome.familyId]));
    throw new RefreshTokenReused();
  }
  if (outcome.kind !== "rotated") throw invalidRefreshToken();
  return withAccessToken(ctx, outcome.user, outcome.familyId, outcome.pair);
}

/** Revokes every live token of a family; returns how many. */
async function revokeFamily(tx: DbExecutor, familyId: string, reason: RevokeReason): Promise<number> {
  const rows = await tx
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(and(eq(sessions.familyId, familyId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length;
}

/** Revokes the user's sessions (all, or all but `keepFamilyId`); returns the session ids. */
export async function revokeUserSessions(
  tx: DbExecutor,
  userId: string,
  reason: RevokeReason,
  keepFamilyId?: string,
): Promise<string[]> {
  const rows = await tx
    .update(sessions)
    .set({ revokedAt: new Date(), revokedReason: reason })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keepFamilyId ? ne(sessions.familyId, keepFamilyId) : undefined,
      ),
    )
    .returning({ familyId: sessions.familyId });
  return [...new Set(rows.map((r) => r.familyId))];
}

/**
 * Revokes the user's sessions (all, or all but `keepFamilyId`) and every API key, audited as
 * `action` with both counts: what logging out everywhere and a password change share.
 */
async function revokeCredentials(
  tx: DbExecutor,
  ctx: Pick<ServiceContext, "metadata">,
  userId: string,
  how: { action: string; reason: RevokeReason; keepFamilyId?: string },
): Promise<{ revoked: string[]; keys: number }> {
  const revoked = await revokeUserSessions(tx, userId, how.reason, how.keepFamilyId);
  const keys = await revokeUserApiKeys(tx, userId);
  await recordAudit(tx, {
    actorId: userId,
    actorType: "user",
    action: how.action,
    resourceType: "user",
    resourceId: userId,
    details: { revoked_sessions: revoked.length, revoked_api_keys: keys },
    metadata: ctx.metadata,
  });
  return { revoked, keys };
}

/** Ids of the user's live sessions (to refresh their cached snapshots after a change). */
export async function liveSessionIds(tx: DbExecutor, userId: string): Promise<string[]> {
  const rows = await tx
    .selectDistinct({ familyId: sessions.familyId })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)));
  return rows.map((r) => r.familyId);
}

export async function logout(ctx: ServiceContext, userId: string, sessionId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await revokeFamily(tx, sessionId, "logout");
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "session.logout",
      resourceType: "session",
      resourceId: sessionId,
      metadata: ctx.metadata,
    });
  });
  await afterCommit(ctx, "logout", () => tombstoneSessions(ctx.redis, [sessionId]));
}

/** Ends every session and revokes every API key of the user. */
export async function logoutAll(
  ctx: ServiceContext,
  userId: string,
): Promise<{ revoked_sessions: number; revoked_api_keys: number }> {
  const { revoked, keys } = await ctx.db.transaction((tx) =>
    revokeCredentials(tx, ctx, userId, { action: "session.logout_all", reason: "logout_all" }),
  );
  forgetUserApiKeys(userId);
  await afterCommit(ctx, "logout-all", () => tombstoneSessions(ctx.redis, revoked));
  return { revoked_sessions: revoked.length, revoked_api_keys: keys };
}

export interface SessionView {
  id: string;
  device_label: string | null;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  current: boolean;
}

/** The user's live sessions (one per family: its newest, unrevoked token). */
export async function listSessions(
  ctx: Pick<ServiceContext, "db">,
  userId: string,
  currentSessionId?: string,
): Promise<SessionView[]> {
  const now = new Date();
  const rows = await ctx.db
    .select({
      familyId: sessions.familyId,
      deviceLabel: sessions.deviceLabel,
      ipAddress: sessions.ipAddress,
      userAgent: sessions.userAgent,
      startedAt: sql<string>`(select min(s2.created_at) from sessions s2 where s2.family_id = ${sessions.familyId})`,
      lastUsedAt: sessions.createdAt,
      expiresAt: sessions.expiresAt,
    })
    .from(sessions)
    .where(and(eq(sessions.userId, userId), liveAt(now)))
    .orderBy(desc(sessions.createdAt));
  return rows.map((r) => ({
    id: r.familyId,
    device_label: r.deviceLabel,
    ip_address: r.ipAddress,
    user_agent: r.userAgent,
    created_at: new Date(r.startedAt).toISOString(),
    last_used_at: r.lastUsedAt.toISOString(),
    expires_at: r.expiresAt.toISOString(),
    current: r.familyId === currentSessionId,
  }));
}

export async function revokeSession(ctx: ServiceContext, userId: string, sessionId: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const rows = await tx
      .update(sessions)
      .set({ revokedAt: new Date(), revokedReason: "revoked" })
      .where(and(eq(sessions.familyId, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (rows.length === 0) throw notFound("Session");
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "session.revoke",
      resourceType: "session",
      resourceId: sessionId,
      metadata: ctx.metadata,
    });
  });
  await afterCommit(ctx, "revoke", () => tombstoneSessions(ctx.redis, [sessionId]));
}

/** A new password built on the account's email address is refused like a common one (422). */
export function refusePasswordBuiltOnEmail(password: string, email: string): void {
  if (leansOnContext(password, userContextWords(email))) {
    throw unprocessable("The request body is invalid", ErrorCode.VALIDATION_FAILED, {
      issues: [
        { path: "new_password", message: "This password is built on your email address", code: "custom" },
      ],
    });
  }
}

export interface PasswordChangeResult {
  revoked_sessions: number;
  revoked_api_keys: number;
  withdrawals_held_until: string;
}

/**
 * Changes the password after checking the current one (and a fresh 2FA code when 2FA is on):
 * every other session and every API key is revoked, and withdrawals are held for 24 h.
 */
export async function changePassword(
  ctx: ServiceContext,
  userId: string,
  currentSessionId: string | undefined,
  input: { current_password: string; new_password: string; totp_code?: string },
): Promise<PasswordChangeResult> {
  const user = await requireCurrentPassword(ctx, userId, input.current_password);
  refusePasswordBuiltOnEmail(input.new_password, user.email);
  const passwordHash = await hashPassword(input.new_password, authConfig(ctx.env).argon2);
  const outcome = await ctx.db.transaction(async (tx) => {
    await requireSecondFactor(ctx, tx, user, { totpCode: input.totp_code });
    await tx.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, userId));
    const { revoked, keys } = await revokeCredentials(tx, ctx, userId, {
      action: "user.password.change",
      reason: "password_changed",
      keepFamilyId: currentSessionId,
    });
    const heldUntil = await holdWithdrawals(tx, userId);
    await userEvent(tx, ctx, "user.password.changed", userId, {
      revoked_sessions: revoked.length,
      revoked_api_keys: keys,
    });
    return { revoked, keys, heldUntil };
  });
  forgetUserApiKeys(userId);
  await afterCommit(ctx, "password", () => tombstoneSessions(ctx.redis, outcome.revoked));
  return {
    revoked_sessions: outcome.revoked.length,
    revoked_api_keys: outcome.keys,
    withdrawals_held_until: outcome.heldUntil.toISOString(),
  };
}
