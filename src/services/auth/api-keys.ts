import type { Redis } from "@upstash/redis/cloudflare";
import { and, count, desc, eq, isNull } from "drizzle-orm";
import type { Database, DbExecutor } from "../../db/client";
import { apiKeys, users } from "../../db/schema";
import type { Permission } from "../../http/principal";
import { decryptSecret, encryptSecret, hmacHex, hmacKey, signaturePayload } from "../../lib/api-key-crypto";
import { authConfig } from "../../lib/auth-config";
import { constantTimeEqualStrings } from "../../lib/constant-time";
import { AppError, ErrorCode, conflict, notFound, serviceUnavailable, unprocessable } from "../../lib/errors";
import { randomToken } from "../../lib/secure-random";
import { recordAudit } from "../../domain/audit-log";
import { holdWithdrawals } from "../withdrawal-hold";
import type { ServiceContext } from "./context";
import { requireCurrentPassword } from "./current-password";
import { requireSecondFactor } from "./second-factor";
import type { UserViewRow } from "../../domain/auth/user-view";
import { NoSuchValue, RefreshingCache } from "../trading/refreshing-cache";

export const MAX_API_KEYS_PER_USER = 20;

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export interface ApiKeyView {
  id: string;
  key: string;
  label: string;
  permissions: Permission[];
  ip_allowlist: string[] | null;
  created_at: string;
  last_used_at: string | null;
}

function toView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    key: row.keyId,
    label: row.label,
    permissions: row.permissions as Permission[],
    ip_allowlist: row.ipAllowlist,
    created_at: row.createdAt.toISOString(),
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
  };
}

export interface CreateApiKeyInput {
  label: string;
  permissions: Permission[];
  ip_allowlist?: string[];
  current_password?: string;
  totp_code?: string;
}

export interface CreatedApiKey extends ApiKeyView {
  secret: string;
  /** Set when the key can withdraw: withdrawals wait until then. */
  withdrawals_held_until: string | null;
}

/**
 * Creates a key; the secret is in this answer only (stored encrypted). A stolen access token
 * alone cannot mint a lasting credential: it needs a verified email, the current password and,
 * with 2FA on, a fresh code. A `withdraw` key must name its IPs, and starts a 24 h hold.
 */
export async function createApiKey(
  ctx: ServiceContext,
  user: { id: string; email_verified: boolean },
  input: CreateApiKeyInput,
): Promise<CreatedApiKey> {
  if (!user.email_verified) {
    throw new AppError(
      403,
      ErrorCode.EMAIL_NOT_VERIFIED,
      "Verify your email address before creating API keys",
    );
  }
  const canWithdraw = input.permissions.includes("withdraw");
  if (canWithdraw && !input.ip_allowlist?.length) {
    throw unprocessable("A withdraw key needs an IP allow-list", ErrorCode.IP_ALLOWLIST_REQUIRED, {
      field: "ip_allowlist",
    });
  }
  const account = await requireCurrentPassword(ctx, user.id, input.current_password);
  const keyId = `pk_${randomToken(18)}`;
  const secret = randomToken(32);
  const sealed = await encryptSecret(ctx.env.API_KEY_ENCRYPTION_KEY, keyId, secret);
  const { row, heldUntil } = await ctx.db.transaction(async (tx) => {
    const [existing] = await tx
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.userId, user.id), isNull(apiKeys.revokedAt)));
    if ((existing?.n ?? 0) >= MAX_API_KEYS_PER_USER) {
      throw conflict(`At most ${MAX_API_KEYS_PER_USER} active API keys per account`);
    }
    await requireSecondFactor(ctx, tx, account, { totpCode: input.totp_code });
    const [created] = await tx
      .insert(apiKeys)
      .values({
        userId: user.id,
        keyId,
        label: input.label,
        secretCiphertext: sealed,
        permissions: [...new Set(input.permissions)],
        ipAllowlist: input.ip_allowlist?.length ? input.ip_allowlist : null,
      })
      .returning();
    const heldUntil = canWithdraw ? await holdWithdrawals(tx, user.id) : null;
    await recordAudit(tx, {
      actorId: user.id,
      actorType: "user",
      action: "api_key.create",
      resourceType: "api_key",
      resourceId: created!.id,
      details: { label: input.label, permissions: created!.permissions, ip_allowlist: created!.ipAllowlist },
      metadata: ctx.metadata,
    });
    return { row: created!, heldUntil };
  });
  return { ...toView(row), secret, withdrawals_held_until: heldUntil?.toISOString() ?? null };
}

/**
 * Revokes every live key of the user (password change or reset, logout-all, deletion); returns
 * how many. The caller calls `forgetUserApiKeys` once the transaction has committed.
 */
export async function revokeUserApiKeys(tx: DbExecutor, userId: string, at = new Date()): Promise<number> {
  const rows = await tx
    .update(apiKeys)
    .set({ revokedAt: at })
    .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  return rows.length;
}

export async function listApiKeys(ctx: Pick<ServiceContext, "db">, userId: string): Promise<ApiKeyView[]> {
  const rows = await ctx.db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map(toView);
}

export async function revokeApiKey(ctx: ServiceContext, userId: string, id: string): Promise<void> {
  const keyId = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
      .returning();
    if (!row) throw notFound("API key");
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "api_key.revoke",
      resourceType: "api_key",
      resourceId: id,
      details: { label: row.label },
      metadata: ctx.metadata,
    });
    return row.keyId;
  });
  // After the commit: a request of this isolate that read the key before it could re-cache it.
  liveKeys.delete(keyId);
}

export interface SignedRequest {
  keyId: string;
  timestamp: string;
  signature: string;
  method: string;
  pathWithQuery: string;
  body: string;
  ip: string | null;
}

const badSignature = (message = "Invalid API key signature") =>
  new AppError(401, ErrorCode.INVALID_API_SIGNATURE, message);

/** Why a signature check failed (the native API answers all of them alike, Binance's face does not). */
export type SignatureRefusal = "unknown_key" | "bad_signature" | "ip_not_allowed";

const refused = (reason: SignatureRefusal, message = "Invalid API key signature") =>
  new AppError(401, ErrorCode.INVALID_API_SIGNATURE, message, { reason });

/**
 * The part of a signed request every face of the API shares: a live key of a live user, the
 * HMAC of `payload` under its secret (constant-time), an allowed IP. Throws INVALID_API_SIGNATURE
 * with `details.reason` a `SignatureRefusal`.
 */
export async function verifyKeySignature(
  db: Database,
  env: Env,
  req: { keyId: string; payload: string; signature: string; ip: string | null },
): Promise<{ key: ApiKeyRow; user: UserViewRow }> {
  const found = await liveKey(db, env, req.keyId);
  if (!found) throw refused("unknown_key");
  const expected = await hmacHex(found.hmac, req.payload);
  if (!constantTimeEqualStrings(expected, req.signature.toLowerCase())) throw refused("bad_signature");
  assertIpAllowed(found.key, req.ip);
  return { key: found.key, user: found.user };
}

/**
 * How long an isolate keeps a live key as it read it: a revocation, or a ban or deletion of its
 * user, made through this isolate takes effect at once (`revokeApiKey`, `forgetUserApiKeys`);
 * one made through another isolate within this (docs/security.md).
 */
export const LIVE_KEY_CACHE_MS = 2_000;

/**
 * Live keys as this isolate last read them, each with its HMAC key (imported from the decrypted
 * secret and not extractable: the secret itself is not kept): a signed request then needs no
 * Postgres query and no decryption. Renewed after half the time by one request.
 */
const liveKeys = new RefreshingCache<{ key: ApiKeyRow; user: UserViewRow; hmac: CryptoKey; readAt: number }>(
  LIVE_KEY_CACHE_MS,
  LIVE_KEY_CACHE_MS / 2,
  Date.now,
  10_000,
);

/**
 * When this isolate last changed each user in a way its keys must see at once (ban, deletion,
 * every key revoked): a copy read before that is read again. Kept for LIVE_KEY_CACHE_MS, after
 * which every copy read before has expired anyway.
 */
const userChangedAt = new Map<string, number>();

/** After a commit that bans, deletes or revokes every key of `userId`: no copy read before it is served. */
export function forgetUserApiKeys(userId: string): void {
  const now = Date.now();
  for (const [id, at] of userChangedAt) {
    if (now - at <= LIVE_KEY_CACHE_MS) break;
    userChangedAt.delete(id);
  }
  userChangedAt.delete(userId);
  userChangedAt.set(userId, now);
}

async function liveKey(db: Database, env: Env, keyId: string) {
  const load = async () => {
    const readAt = Date.now();
    const found = await findLiveApiKey(db, keyId);
    // Revoked since it was cached, or never was: not served from the cache either.
    if (!found) throw new NoSuchValue();
    const secret = await decryptSecret(
      env.API_KEY_ENCRYPTION_KEY,
      found.key.keyId,
      found.key.secretCiphertext,
    );
    return { ...found, hmac: await hmacKey(secret), readAt };
  };
  try {
    const cached = await liveKeys.get(keyId, load);
    const changedAt = userChangedAt.get(cached.user.id);
    return changedAt === undefined || cached.readAt > changedAt
      ? cached
      : await liveKeys.get(keyId, load, true);
  } catch (err) {
    if (err instanceof NoSuchValue) return null;
    throw err;
  }
}

/** What a key's user is read as: the view's columns only (the key cache holds it). */
const userViewColumns = {
  id: users.id,
  email: users.email,
  firstName: users.firstName,
  lastName: users.lastName,
  role: users.role,
  kycStatus: users.kycStatus,
  kycReason: users.kycReason,
  status: users.status,
  emailVerifiedAt: users.emailVerifiedAt,
  twoFactorEnabledAt: users.twoFactorEnabledAt,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  deletedAt: users.deletedAt,
  orderLimitPer10s: users.orderLimitPer10s,
  orderLimitPerDay: users.orderLimitPerDay,
} satisfies { [K in keyof UserViewRow]: unknown };

/** A live (unrevoked) key of a live user, by its public id; null when there is none. */
export async function findLiveApiKey(
  db: DbExecutor,
  keyId: string,
): Promise<{ key: ApiKeyRow; user: UserViewRow } | null> {
  const [found] = await db
    .select({ key: apiKeys, user: userViewColumns })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(and(eq(apiKeys.keyId, keyId), isNull(apiKeys.revokedAt), isNull(users.deletedAt)));
  return found ?? null;
}

/** The key's IP allowlist, when it has one, must name the caller's address. */
export function assertIpAllowed(key: ApiKeyRow, ip: string | null): void {
  if (key.ipAllowlist && (!ip || !key.ipAllowlist.includes(ip))) {
    throw refused("ip_not_allowed", "This API key is not allowed from this IP address");
  }
}

/**
 * A signature is good once: `SET NX` in Redis for `windowMs` (if Redis is down the request is
 * refused, 503). Then the key's `last_used_at`, at most once a minute.
 */
export async function acceptSignatureOnce(
  db: Database,
  redis: Redis,
  key: ApiKeyRow,
  signature: string,
  windowMs: number,
): Promise<void> {
  let fresh: unknown;
  try {
    fresh = await redis.set(`apikey:seen:${key.id}:${signature.toLowerCase()}`, "1", {
      nx: true,
      px: 2 * windowMs + 1_000,
    });
  } catch {
    throw serviceUnavailable("Signed requests are unavailable right now");
  }
  if (fresh === null) {
    throw new AppError(401, ErrorCode.API_REQUEST_REPLAYED, "This signed request was already used");
  }
  if (!key.lastUsedAt || Date.now() - key.lastUsedAt.getTime() > 60_000) {
    const now = new Date();
    await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id));
    // The row may be this isolate's cached copy: its next requests need not write again.
    key.lastUsedAt = now;
  }
}

/**
 * Checks a signed API request: a live key of a live user, a timestamp inside the receive
 * window, an allowed IP, the HMAC (constant-time), and that this signature was not seen
 * before inside the window (Redis `SET NX`; if Redis is down the request is refused, 503).
 */
export async function verifySignedRequest(
  db: Database,
  redis: Redis,
  env: Env,
  req: SignedRequest,
): Promise<{ key: ApiKeyRow; user: UserViewRow }> {
  const window = authConfig(env).apiKeyRecvWindowMs;
  if (
    !/^\d{1,16}$/.test(req.timestamp) ||
    !/^[0-9a-fA-F]{64}$/.test(req.signature) ||
    req.keyId.length > 64
  ) {
    throw badSignature("Signed requests need X-API-Key, X-API-Timestamp (ms) and a hex X-API-Signature");
  }
  if (Math.abs(Date.now() - Number(req.timestamp)) > window) {
    throw badSignature(`X-API-Timestamp is outside the ${window} ms receive window`);
  }
  const found = await verifyKeySignature(db, env, {
    keyId: req.keyId,
    payload: signaturePayload(req.timestamp, req.method, req.pathWithQuery, req.body),
    signature: req.signature,
    ip: req.ip,
  }).catch((err: unknown) => {
    // This face does not say which check failed (an unknown key looks like a bad signature).
    throw err instanceof AppError && err.code === ErrorCode.INVALID_API_SIGNATURE
      ? badSignature(err.message)
      : err;
  });
  await acceptSignatureOnce(db, redis, found.key, req.signature, window);
  return found;
}
