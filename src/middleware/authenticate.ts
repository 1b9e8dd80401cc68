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
 *   change or an admin delete take effect at once, not at the token's expiry. A session has
 *   every permission.
 * - `X-API-Key`, `X-API-Timestamp` (ms), `X-API-Signature` = hex HMAC-SHA256(secret,
 *   timestamp + METHOD + path-with-query + body): accepted within the environment's receive
 *   window, once (a replayed signature is refused), from an allowed IP, and only where the
 *   key's permissions include the route's `permission`. Routes without a `permission` refuse
 *   API keys (403).
 * - `withdraw` additionally needs a verified email; an unverified user may log in, read,
 *   edit the profile, manage sessions and trade, but not create API keys or withdraw.
 *
 * Failures: no or bad credentials → 401 UNAUTHORIZED / INVALID_API_SIGNATURE /
 * API_REQUEST_REPLAYED; right caller, wrong rights → 403 INSUFFICIENT_PERMISSION /
 * EMAIL_NOT_VERIFIED / FORBIDDEN. Each caller (user or key) is also rate-limited per minute.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import type { Permission, Principal } from "../http/principal";
import { getDb, getRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { InvalidAccessToken } from "../lib/access-token";
import { authConfig } from "../lib/auth-config";
import { AppError, ErrorCode, forbidden, unauthorized } from "../lib/errors";
import { verifySignedRequest } from "../services/auth/api-keys";
import { resolveSession } from "../services/auth/session-principal";
import type { UserRow } from "../services/auth/user-view";
import { enforceLimit } from "./rate-limit";

export const ALL_PERMISSIONS: readonly Permission[] = ["read", "trade", "withdraw"];

export interface AuthenticateOptions {
  /** What an API key must carry to use the route. Omitted: sessions only. */
  permission?: Permission;
}

const users = new WeakMap<Context, UserRow>();

/** The authenticated user's row, loaded by `authenticate` (saves protected routes a query). */
export function authenticatedUser(c: Context<AppEnv>): UserRow {
  const user = users.get(c);
  if (!user) throw unauthorized();
  return user;
}

function bearerToken(c: Context<AppEnv>): string | null {
  const header = c.req.header("authorization");
  if (!header) return null;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header.trim());
  if (!match) throw unauthorized("Malformed Authorization header");
  return match[1]!;
}

async function viaSession(
  c: Context<AppEnv>,
  token: string,
): Promise<{ principal: Principal; user: UserRow }> {
  try {
    const { user, claims } = await resolveSession(getDb(c), c.env, token);
    return {
      user,
      principal: {
        userId: user.id,
        role: user.role,
        kycStatus: user.kycStatus,
        emailVerified: user.emailVerifiedAt !== null,
        via: "session",
        sessionId: claims.sid,
        permissions: ALL_PERMISSIONS,
      },
    };
  } catch (err) {
    if (err instanceof InvalidAccessToken) throw unauthorized("Invalid or expired access token");
    throw err;
  }
}

async function viaApiKey(
  c: Context<AppEnv>,
  keyId: string,
): Promise<{ principal: Principal; user: UserRow }> {
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
  return {
    user,
    principal: {
      userId: user.id,
      role: user.role,
      kycStatus: user.kycStatus,
      emailVerified: user.emailVerifiedAt !== null,
      via: "api_key",
      apiKeyId: key.id,
      permissions: key.permissions as Permission[],
    },
  };
}

export function authenticate(options: AuthenticateOptions = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = bearerToken(c);
    const apiKey = c.req.header("x-api-key");
    let resolved: { principal: Principal; user: UserRow };
    if (token) resolved = await viaSession(c, token);
    else if (apiKey) resolved = await viaApiKey(c, apiKey);
    else throw unauthorized();
    const { principal, user } = resolved;

    c.set("principal", principal);
    c.set(
      "log",
      c.get("log").child({
        user_id: principal.userId,
        ...(principal.apiKeyId ? { api_key_id: principal.apiKeyId } : {}),
      }),
    );
    users.set(c, user);

    const limit = authConfig(c.env).rateLimitUserPerMinute;
    await enforceLimit(
      c,
      "caller",
      limit,
      principal.apiKeyId ? `key:${principal.apiKeyId}` : `user:${principal.userId}`,
    );

    if (principal.via === "api_key") {
      if (!options.permission) {
        throw new AppError(
          403,
          ErrorCode.INSUFFICIENT_PERMISSION,
          "API keys cannot use this endpoint; sign in instead",
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
