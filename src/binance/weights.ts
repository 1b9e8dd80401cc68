import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { describeError } from "../lib/logger";
import { checkRateLimitsAndRead, rateLimitHeaders, type LimitCheck } from "../services/auth/rate-limit";
import { BinanceError } from "./binance-errors";
import { bannedUntil, ipBanned, recordRefusal } from "./ip-ban";

/** Binance's spot limit: request weight per IP and minute (exchangeInfo's REQUEST_WEIGHT). */
export const REQUEST_WEIGHT_PER_MINUTE = 6_000;

/** An IP's weight limit (the keys @upstash/ratelimit's "binance-weight" limiter counted before). */
export const weightLimit = (ip: string): LimitCheck => ({
  name: "binance-weight",
  limit: REQUEST_WEIGHT_PER_MINUTE,
  window: "1 m",
  identifier: ip,
});

/**
 * Charges a request its Binance weight against the caller's IP (a sliding minute in Redis, as
 * the API's other limits) and reports the minute's total in `X-MBX-USED-WEIGHT-1M`. Past the
 * limit: 429 with -1003 and `Retry-After`, and the request is not charged (a lighter one that
 * fits is still served); an IP that keeps sending is banned (418, ip-ban.ts). Like the API's
 * other general limits it fails open when Redis cannot answer, except for an IP this isolate
 * already found out of weight this minute (services/auth/refused-callers.ts). This face's
 * routes are mounted ahead of the per-IP request limit of /api/v1, so the weight is their IP
 * limit; signed requests also pass the per-key limit.
 */
export function weight(
  cost: number | ((query: Record<string, string>) => number),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const w = typeof cost === "number" ? cost : cost(c.req.query());
    const ip = c.req.header("cf-connecting-ip") ?? "local";
    const redis = getRedis(c);
    let warned = false;
    const unavailable = (err: unknown) => {
      if (!warned) c.get("log").warn("binance weight limit unavailable, failing open", describeError(err));
      warned = true;
      return null;
    };
    // The ban is read beside the weight (two requests in parallel, no round trip added); each
    // fails open on its own, so a refusal known here stands while Redis is down.
    const [verdict, ban] = await Promise.all([
      checkRateLimitsAndRead(redis, [weightLimit(ip)], null, w).then((r) => r.verdicts[0]!, unavailable),
      bannedUntil(redis, ip).catch(unavailable),
    ]);
    if (ban !== null) throw ipBanned(ban);
    if (verdict && !verdict.success) {
      const ends = await recordRefusal(redis, ip).catch(unavailable);
      if (ends !== null) throw ipBanned(ends);
      throw new BinanceError(
        429,
        -1003,
        `Too much request weight used; current limit is ${REQUEST_WEIGHT_PER_MINUTE} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
        {
          "X-MBX-USED-WEIGHT-1M": String(verdict.limit - verdict.remaining),
          "Retry-After": rateLimitHeaders(verdict)["Retry-After"]!,
        },
      );
    }
    await next();
    if (verdict) c.res.headers.set("X-MBX-USED-WEIGHT-1M", String(verdict.limit - verdict.remaining));
  };
}
