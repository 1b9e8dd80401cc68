import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { describeError } from "../lib/logger";
import { checkRateLimit, rateLimitHeaders } from "../services/auth/rate-limit";
import { BinanceError } from "./binance-errors";
import { bannedUntil, ipBanned, recordRefusal } from "./ip-ban";

/** Binance's spot limit: request weight per IP and minute (exchangeInfo's REQUEST_WEIGHT). */
export const REQUEST_WEIGHT_PER_MINUTE = 6_000;

/**
 * Charges a request its Binance weight against the caller's IP (a sliding minute in Redis, as
 * the API's other limits) and reports the minute's total in `X-MBX-USED-WEIGHT-1M`. Past the
 * limit: 429 with -1003 and `Retry-After`; an IP that keeps sending is banned (418, ip-ban.ts).
 * Like the API's other general limits it fails open when Redis cannot answer. This face's routes are mounted ahead of the per-IP request limit of
 * /api/v1, so the weight is their IP limit; signed requests also pass the per-key limit.
 */
export function weight(
  cost: number | ((query: Record<string, string>) => number),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const w = typeof cost === "number" ? cost : cost(c.req.query());
    const ip = c.req.header("cf-connecting-ip") ?? "local";
    let used: number | null = null;
    try {
      const redis = getRedis(c);
      // The ban is read beside the weight (two requests in parallel, no round trip added).
      const [verdict, ban] = await Promise.all([
        checkRateLimit(redis, "binance-weight", REQUEST_WEIGHT_PER_MINUTE, "1 m", ip, w),
        bannedUntil(redis, ip),
      ]);
      if (ban !== null) throw ipBanned(ban);
      used = verdict.limit - verdict.remaining;
      if (!verdict.success) {
        const ends = await recordRefusal(redis, ip);
        if (ends !== null) throw ipBanned(ends);
        throw new BinanceError(
          429,
          -1003,
          `Too much request weight used; current limit is ${REQUEST_WEIGHT_PER_MINUTE} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
          { "X-MBX-USED-WEIGHT-1M": String(used), "Retry-After": rateLimitHeaders(verdict)["Retry-After"]! },
        );
      }
    } catch (err) {
      if (err instanceof BinanceError) throw err;
      c.get("log").warn("binance weight limit unavailable, allowing request", describeError(err));
    }
    await next();
    if (used !== null) c.res.headers.set("X-MBX-USED-WEIGHT-1M", String(used));
  };
}
