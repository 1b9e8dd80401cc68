/**
 * Authentication and authorization for protected routes.
 *
 *   import { authenticate, requireAdmin } from "../middleware/authenticate";
 *
 *   // a browser session only (access token): profile, password, sessions, key management
 *   router.use("/users/me/password", authenticate());
 *   // a session, or an API key signed for this request that carries `trade`
 *   router.use("/orders/*", authenticate({ permission: "trade" }));
 *   // read-only data: session or key with `read`
 *   router.use("/wallets", authenticate({ permission: "read" }));
 *   // admins, by access token only (API keys never reach admin routes)
 *   router.use("/admin/*", authenticate(), requireAdmin);
 *
 *   const principal = c.get("principal"); // { userId, role, via, sessionId?, apiKeyId?, ... }
 *
 * Credentials:
 * - `Authorization: Bearer <access token>` (EdDSA JWT, see lib/access-token.ts). The session it
 *   names (`sid`) must still be live and the user not deleted: logout, logout-all, a password
 *   change or an admin delete take effect within 2 s everywhere (at once in the isolate that
 *   made it), not at the token's expiry. Session state is read from a Redis cache
 *   (services/auth/session-cache.ts), which each isolate keeps a copy of for 2 s, and from
 *   Postgres on a miss, so most authenticated requests open no database connection and send no
 *   Redis command (the limits are counted in batches: services/auth/batched-limits.ts). A
 *   session has every permission.
 * - `X-API-Key`, `X-API-Timestamp` (ms), `X-API-Signature` = hex HMAC-SHA256(secret,
 *   timestamp + METHOD + path-with-query + body): accepted within the environment's receive
 *   window, once (a replayed signature is refused), from an allowed IP, and only where the
 *   key's permissions include the route's `permission`. Routes without a `permission` refuse
 *   API keys (403).
 * - `withdraw` additionally needs a verified email; an unverified user may log in, read,
 *   edit the profile, manage sessions and trade, but not create API keys or withdraw.
 *
 * Failures: no or bad credentials → 401 UNAUTHORIZED / INVALID_API_SIGNATURE /
 * API_REQUEST_REPLAYED; a banned account → 403 ACCOUNT_BANNED (whatever the credential);
 * right caller, wrong rights → 403 INSUFFICIENT_PERMISSION / EMAIL_NOT_VERIFIED / FORBIDDEN. Each caller (user or key) is also rate-limited per minute.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { ALL_PERMISSIONS, principalOf, type Permission, type Principal } from "../http/principal";
import { getDb, getRedis, sharedRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { InvalidAccessToken, verifyAccessToken, type AccessTokenClaims } from "../lib/access-token";
import { authConfig } from "../lib/auth-config";
import { AppError, ErrorCode, accountBanned, forbidden, unauthorized } from "../lib/errors";
import { describeError } from "../lib/logger";
import { verifySignedRequest } from "../services/auth/api-keys";
import { batchedLimits } from "../services/auth/batched-limits";
import {
  fillCachedSession,
  localSession,
  rememberSession,
  sessionCacheKey,
  type CachedSession,
} from "../services/auth/session-cache";
import { checkRateLimitsAndRead, type LimitCheck, type LimitVerdict } from "../services/auth/rate-limit";
import { loadSessionUser } from "../domain/auth/session-principal";
import { toUserView, type UserView } from "../domain/auth/user-view";
import { applyVerdict } from "./rate-limit";

export interface AuthenticateOptions {
  /** What an API key must carry to use the route. Omitted: sessions only. */
  permission?: Permission;
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/** The authenticated user as the API shows it, loaded by `authenticate` (saves a query). */
export function authenticatedUser(c: Context<AppEnv>): UserView {
  const user = c.get("auth")?.user;
  if (!user) throw unauthorized();
  return user;
}

/**
 * The request's credentials, read once (by `apiRateLimit` on /api, else by `authenticate`):
 * the bearer token (null without an Authorization header, false when the header is not a bearer
 * token: no token text can be mistaken for that mark), the API key id, and the session
 * `apiRateLimit` started resolving in its Redis command.
 */
export interface Credentials {
  bearer: string | null | false;
  apiKey: string | undefined;
  session?: Promise<Resolved>;
}

function credentialsOf(c: Context<AppEnv>): Credentials {
  let credentials = c.get("credentials");
  if (!credentials) {
    const header = c.req.header("authorization");
    credentials = {
      bearer: header ? (BEARER.exec(header.trim())?.[1] ?? false) : null,
      apiKey: c.req.header("x-api-key"),
    };
    c.set("credentials", credentials);
  }
  return credentials;
}

/** The hot path's limits (IP, caller) and its session's cache entry. */
interface HotRound {
  verdicts: LimitVerdict[];
  session: CachedSession | null;
}

/**
 * Judges `limits` and finds the session's cache entry: from what this isolate knows when it is
 * recent enough (batched-limits.ts, `localSession`: no Redis command; the counts follow in a
 * batch), else in ONE Redis command that counts the limits and reads the entry. Null when Redis
 * could not answer (logged): the limits then fail open and the session is read from Postgres.
 */
function hotRound(
  c: Context<AppEnv>,
  limits: LimitCheck[],
  claims: AccessTokenClaims | null,
): Promise<HotRound | null> {
  const redis = sharedRedis(c.env);
  const batched = batchedLimits(redis);
  const now = Date.now();
  const known = claims ? localSession(claims.sid, now) : null;
  const verdicts = known === undefined ? null : batched.admit(limits, now);
  if (verdicts) {
    batched.flushSoon(
      (work) => c.executionCtx.waitUntil(work),
      (err) => c.get("log").warn("batched rate limit counts lost", describeError(err)),
      now,
    );
    return Promise.resolve({ verdicts, session: known ?? null });
  }
  batched.asking(limits, now);
  return checkRateLimitsAndRead<CachedSession>(
    redis,
    limits,
    claims ? sessionCacheKey(claims.sid) : null,
  ).then(
    ({ verdicts, value, counts }) => {
      batched.learn(limits, counts, now);
      if (claims && value) rememberSession(claims.sid, value, now);
      return { verdicts, session: value };
    },
    (err: unknown) => {
      batched.learn(limits, null, now);
      c.get("log").warn("rate limits and session cache unavailable: allowing, reading Postgres", {
        limiters: limits.map((l) => l.name),
        ...describeError(err),
      });
      return null;
    },
  );
}

const callerLimit = (c: Context<AppEnv>, claims: AccessTokenClaims): LimitCheck => ({
  name: "caller",
  limit: authConfig(c.env).rateLimitUserPerMinute,
  window: "1 m",
  identifier: `user:${claims.sub}`,
});

/** Who the request's credentials name: set by `authenticate` as the `auth` variable. */
export type Resolved = { principal: Principal; user: UserView };

async function verifiedClaims(c: Context<AppEnv>, token: string): Promise<AccessTokenClaims> {
  try {
    return await verifyAccessToken(c.env, token);
  } catch (err) {
    if (err instanceof InvalidAccessToken) throw unauthorized("Invalid or expired access token");
    throw err;
  }
}

async function viaSession(c: Context<AppEnv>, token: string): Promise<Resolved> {
  const claims = await verifiedClaims(c, token);
  return sessionPrincipal(c, claims, await hotRound(c, [callerLimit(c, claims)], claims), 0);
}

/**
 * The session's user, from the cache entry the round read (a revoked session is refused there)
 * or from Postgres on a miss, and the caller's limit (`round.verdicts[callerAt]`).
 */
async function sessionPrincipal(
  c: Context<AppEnv>,
  claims: AccessTokenClaims,
  round: HotRound | null,
  callerAt: number,
): Promise<Resolved> {
  const cached = round?.session;
  if (cached && "revoked" in cached) throw unauthorized("Invalid or expired access token");
  if (round) {
    const refused = applyVerdict(c, "caller", round.verdicts[callerAt]!);
    if (refused) throw refused;
  }
  let user: UserView;
  if (cached && cached.user.id === claims.sub && !cached.user.deleted_at) user = cached.user;
  else {
    const readAt = Date.now();
    try {
      user = toUserView(await loadSessionUser(getDb(c), claims));
    } catch (err) {
      if (err instanceof InvalidAccessToken) throw unauthorized("Invalid or expired access token");
      throw err;
    }
    rememberSession(claims.sid, { user }, readAt);
    await fillCachedSession(sharedRedis(c.env), claims.sid, user).catch(() => {});
  }
  return {
    user,
    principal: principalOf(user, {
      via: "session",
      sessionId: claims.sid,
      expiresAt: claims.exp,
      permissions: ALL_PERMISSIONS,
    }),
  };
}

/**
 * The per-key caller limit of a signed request (the native API's and Binance's), judged and
 * counted as the hot path's limits are (`hotRound`: in batches while this isolate knows recent
 * counts); sets the RateLimit-* headers; throws 429 when exceeded, fails open without Redis.
 */
export async function enforceKeyLimit(c: Context<AppEnv>, apiKeyId: string): Promise<void> {
  const limit: LimitCheck = {
    name: "caller",
    limit: authConfig(c.env).rateLimitUserPerMinute,
    window: "1 m",
    identifier: `key:${apiKeyId}`,
  };
  const round = await hotRound(c, [limit], null);
  const refused = round && applyVerdict(c, "caller", round.verdicts[0]!);
  if (refused) throw refused;
}

async function viaApiKey(c: Context<AppEnv>, keyId: string): Promise<Resolved> {
  const url = new URL(c.req.url);
  const body = c.req.method === "GET" || c.req.method === "HEAD" ? "" : await c.req.text();
  const { key, user } = await verifySignedRequest(getDb(c), getRedis(c), c.env, {
    keyId,
    timestamp: c.req.header("x-api-timestamp") ?? "",
    signature: c.req.header("x-api-signature") ?? "",
    method: c.req.method,
    pathWithQuery: url.pathname + url.search,
    body,
    ip: requestMetadata(c).ipAddress,
  });
  await enforceKeyLimit(c, key.id);
  const view = toUserView(user);
  return {
    user: view,
    principal: principalOf(
      view,
      { via: "api_key", apiKeyId: key.id, permissions: key.permissions as Permission[] },
      { per10s: key.orderLimitPer10s, perDay: key.orderLimitPerDay },
    ),
  };
}

/**
 * App-level, on every /api request: the per-IP limit (100/min by default; the IP is
 * CF-Connecting-IP, which Cloudflare always sets at the edge; a request without it, as from
 * local tools and tests, is not IP-limited). For a request with a valid-looking access token
 * the same round (`hotRound`) also counts the caller's limit and finds the session's cache
 * entry, so an authenticated request costs at most one Redis round trip, and none while this
 * isolate's knowledge is recent; `authenticate` then picks the result up.
 * The IP verdict is always applied before the route runs; its RateLimit-* headers are written
 * unless the caller's (stricter) replace them.
 */
export const apiRateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.req.path.startsWith("/api/")) return next();
  const ip = c.req.header("cf-connecting-ip");
  const credentials = credentialsOf(c);
  const token = credentials.bearer || null;
  const claims = token ? await verifyAccessToken(c.env, token).catch(() => null) : null;
  const limits: LimitCheck[] = [];
  if (ip)
    limits.push({ name: "ip", limit: authConfig(c.env).rateLimitIpPerMinute, window: "1 m", identifier: ip });
  if (claims) limits.push(callerLimit(c, claims));
  if (limits.length === 0) return next();
  const round = hotRound(c, limits, claims);
  const ipChecked = ip
    ? round.then((r) => {
        const verdict = r?.verdicts[0];
        // With a token the caller's verdict, counted in the same command, writes the
        // RateLimit-* headers (its limit is the stricter); the IP's only when it refuses.
        const refused = verdict && !(claims && verdict.success) ? applyVerdict(c, "ip", verdict) : null;
        if (refused) throw refused;
      })
    : null;
  if (claims) {
    const session = round.then((r) => sessionPrincipal(c, claims, r, ip ? 1 : 0));
    session.catch(() => {}); // surfaced by `authenticate`, if the route has it
    credentials.session = session;
  }
  if (ipChecked) await ipChecked;
  await next();
};

export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { bearer, apiKey, session } = credentialsOf(c);
    if (bearer === false) throw unauthorized("Malformed Authorization header");
    let resolved: Resolved;
    if (bearer && session) resolved = await session;
    else if (bearer) resolved = await viaSession(c, bearer);
    else if (apiKey) resolved = await viaApiKey(c, apiKey);
    else throw unauthorized();
    const { principal, user } = resolved;
    if (user.status === "banned") throw accountBanned();

    c.set("principal", principal);
    c.set(
      "log",
      c.get("log").child({
        user_id: principal.userId,
        ...(principal.apiKeyId ? { api_key_id: principal.apiKeyId } : {}),
      }),
    );
    c.set("auth", resolved);

    if (principal.via === "api_key") {
      if (!options.permission) {
        throw new AppError(
          403,
          ErrorCode.INSUFFICIENT_PERMISSION,
          "API keys cannot use this endpoint; sign in instead",
        );
      }
      // `read` is read-only whatever the route says: a read key never changes anything.
      if (options.permission === "read" && !SAFE_METHODS.has(c.req.method)) {
        throw new AppError(
          403,
          ErrorCode.INSUFFICIENT_PERMISSION,
          "A read-only API key cannot change anything",
        );
      }
      if (!principal.permissions.includes(options.permission)) {
        throw new AppError(
          403,
          ErrorCode.INSUFFICIENT_PERMISSION,
          `This API key lacks the "${options.permission}" permission`,
        );
      }
    }
    if (options.permission === "withdraw" && !principal.emailVerified) {
      throw new AppError(403, ErrorCode.EMAIL_NOT_VERIFIED, "Verify your email address first");
    }
    await next();
  };
}

/** After `authenticate()`: only admins signed in with a session pass. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get("principal");
  if (!principal) throw unauthorized();
  if (principal.role !== "admin" || principal.via !== "session") throw forbidden("Administrators only");
  await next();
};
