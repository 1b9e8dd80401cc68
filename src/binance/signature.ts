import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { principalOf, type Permission } from "../http/principal";
import { getDb, getRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { authConfig } from "../lib/auth-config";
import { accountBanned } from "../lib/errors";
import { enforceLimit } from "../middleware/rate-limit";
import { acceptSignatureOnce, verifyKeySignature } from "../services/auth/api-keys";
import { toUserView } from "../services/auth/user-view";
import { BinanceError, apiKeyFormat, apiKeyRejected, badSignature, mandatory } from "./errors";
import { rawParams } from "./params";

/** Binance's default and largest receive windows (ms). */
export const DEFAULT_RECV_WINDOW_MS = 5_000;
export const MAX_RECV_WINDOW_MS = 60_000;
/** How far ahead of the server's clock a timestamp may be. */
const AHEAD_MS = 1_000;

/** `a=1&signature=..&b=2` without its signature part, the rest byte for byte. */
const withoutSignature = (s: string) =>
  s
    .split("&")
    .filter((p) => !p.startsWith("signature="))
    .join("&");

/**
 * Binance's timing security: `timestamp` (ms) not more than 1 s ahead of the server, nor older
 * than `recvWindow` (default 5,000, at most 60,000; Binance accepts up to three decimals).
 */
export function checkTiming(timestamp: string | null, recvWindow: string | null, now = Date.now()): number {
  if (!timestamp) throw mandatory("timestamp");
  if (!/^\d{1,16}$/.test(timestamp))
    throw new BinanceError(400, -1100, "Illegal characters found in parameter 'timestamp'.");
  const window = recvWindow === null ? DEFAULT_RECV_WINDOW_MS : Number(recvWindow);
  if (recvWindow !== null && !/^\d{1,16}(\.\d{1,3})?$/.test(recvWindow)) {
    throw new BinanceError(400, -1100, "Illegal characters found in parameter 'recvWindow'.");
  }
  if (window > MAX_RECV_WINDOW_MS) throw new BinanceError(400, -1131, "recvWindow must be less than 60000");
  const ts = Number(timestamp);
  if (ts > now + AHEAD_MS) {
    throw new BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
  }
  if (now - ts > window) {
    throw new BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.");
  }
  return window;
}

/**
 * Binance's SIGNED endpoint security over the API's own keys: `X-MBX-APIKEY` names the key,
 * `signature` is hex HMAC-SHA256 (the key's secret) of the query string concatenated with the
 * form body, the signature itself left out. The key's IP allowlist, permissions, the
 * one-use guard on signatures and the per-key rate limit are the native API's
 * (services/auth/api-keys.ts, middleware/rate-limit.ts); `read` or `trade` as the route needs.
 */
export function signed(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const keyId = c.req.header("x-mbx-apikey");
    if (!keyId || !/^[A-Za-z0-9_-]{1,64}$/.test(keyId)) throw apiKeyFormat();
    const { query, body } = await rawParams(c);
    const all = new URLSearchParams(`${query}&${body}`);
    const signature = all.get("signature");
    const window = checkTiming(all.get("timestamp"), all.get("recvWindow"));
    if (!signature) throw mandatory("signature");
    if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw badSignature();
    const db = getDb(c);
    const { key, user } = await verifyKeySignature(db, c.env, {
      keyId,
      payload: withoutSignature(query) + withoutSignature(body),
      signature,
      ip: requestMetadata(c).ipAddress,
    });
    if (user.status === "banned") throw accountBanned();
    await acceptSignatureOnce(db, getRedis(c), key, signature, window);
    const permissions = key.permissions as Permission[];
    if (!permissions.includes(permission)) throw apiKeyRejected();
    await enforceLimit(c, "caller", authConfig(c.env).rateLimitUserPerMinute, `key:${key.id}`);
    c.set(
      "principal",
      principalOf(
        toUserView(user),
        { via: "api_key", apiKeyId: key.id, permissions },
        { per10s: key.orderLimitPer10s, perDay: key.orderLimitPerDay },
      ),
    );
    c.set("log", c.get("log").child({ user_id: user.id, api_key_id: key.id }));
    await next();
  };
}
