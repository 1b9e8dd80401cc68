import type { Redis } from "@upstash/redis/cloudflare";
import type { MiddlewareHandler } from "hono";
import type { Database } from "../db/client";
import type { AppEnv } from "../http/app-env";
import { principalOf, type Permission } from "../http/principal";
import { getDb, getRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { accountBanned } from "../lib/errors";
import { enforceKeyLimit } from "../middleware/authenticate";
import { acceptSignatureOnce, verifyKeySignature, type ApiKeyRow } from "../services/auth/api-keys";
import type { UserViewRow } from "../domain/auth/user-view";
import { toUserView } from "../domain/auth/user-view";
import { BinanceError, apiKeyFormat, apiKeyRejected, badSignature, mandatory } from "./binance-errors";
import { rawParams } from "./params";
import { userStreamOwner } from "./user-data/user-stream-key";

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

/** What a SIGNED call carries, from a request's parameters or a `/ws-api/v3` message. */
export interface SignedCall {
  keyId: string | undefined;
  /** The signed text: the parameters without `signature`, as the client signed them. */
  payload: string;
  signature: string | null;
  timestamp: string | null;
  recvWindow: string | null;
  ip: string | null;
}

/**
 * Binance's SIGNED security over the API's own keys: the key's format, the timing, the HMAC
 * (hex SHA-256 under the key's secret, constant-time), a live key of a live unbanned user, the
 * key's IP allowlist and the one-use guard on signatures (services/auth/api-keys.ts). Returns the
 * key and its user; the caller checks the permission it needs.
 */
export async function verifySignedCall(
  db: Database,
  redis: Redis,
  env: Env,
  call: SignedCall,
): Promise<{ key: ApiKeyRow; user: UserViewRow; permissions: Permission[] }> {
  if (!call.keyId || !/^[A-Za-z0-9_-]{1,64}$/.test(call.keyId)) throw apiKeyFormat();
  const window = checkTiming(call.timestamp, call.recvWindow);
  if (!call.signature) throw mandatory("signature");
  if (!/^[0-9a-fA-F]{64}$/.test(call.signature)) throw badSignature();
  const { key, user } = await verifyKeySignature(db, env, {
    keyId: call.keyId,
    payload: call.payload,
    signature: call.signature,
    ip: call.ip,
  });
  if (user.status === "banned") throw accountBanned();
  await acceptSignatureOnce(db, redis, key, call.signature, window);
  return { key, user, permissions: key.permissions as Permission[] };
}

/**
 * Binance's SIGNED endpoint security: `X-MBX-APIKEY` names the key, `signature` signs the query
 * string concatenated with the form body, the signature itself left out (`verifySignedCall`);
 * then the key's permission (`read` or `trade` as the route needs) and the per-key rate limit
 * of the native API (middleware/rate-limit.ts).
 */
export function signed(permission: Permission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { query, body } = await rawParams(c);
    const all = new URLSearchParams(`${query}&${body}`);
    const { key, user, permissions } = await verifySignedCall(getDb(c), getRedis(c), c.env, {
      keyId: c.req.header("x-mbx-apikey"),
      payload: withoutSignature(query) + withoutSignature(body),
      signature: all.get("signature"),
      timestamp: all.get("timestamp"),
      recvWindow: all.get("recvWindow"),
      ip: requestMetadata(c).ipAddress,
    });
    if (!permissions.includes(permission)) throw apiKeyRejected();
    await enforceKeyLimit(c, key.id);
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

/**
 * Binance's MARKET_DATA security (e.g. GET /historicalTrades): an `X-MBX-APIKEY` that names a
 * live key of a live account, usable from this IP; no signature (the same check as USER_STREAM).
 */
export const apiKeyOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  await userStreamOwner(getDb(c), c.req.header("x-mbx-apikey"), requestMetadata(c).ipAddress);
  await next();
};
