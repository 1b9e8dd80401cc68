import type { Redis } from "@upstash/redis/cloudflare";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { describeError } from "../lib/logger";

const TEN_SECONDS = 10_000;
const DAY = 86_400_000;

export interface OrderCounts {
  /** Placements in the current 10-second window (aligned, as the books count). */
  tenSeconds: number;
  /** Placements in the current UTC day. */
  day: number;
}

const keys = (userId: string, now: number) => [
  `binance:orders:${userId}:10s:${now - (now % TEN_SECONDS)}`,
  `binance:orders:${userId}:1d:${now - (now % DAY)}`,
];

/**
 * Counts a placement for Binance's `X-MBX-ORDER-COUNT-10S` / `-1D` (one Redis round trip). The
 * limit itself is the books' (order-rate-limiter.ts, per market, every face); this count is
 * the account's across markets, as Binance reports it, for placements through this face.
 */
export async function countOrder(redis: Redis, userId: string, now = Date.now()): Promise<OrderCounts> {
  const [ten, day] = keys(userId, now);
  const [inTen, , inDay] = await redis
    .pipeline()
    .incr(ten!)
    .pexpire(ten!, 2 * TEN_SECONDS)
    .incr(day!)
    .pexpire(day!, 2 * DAY)
    .exec<[number, number, number, number]>();
  return { tenSeconds: inTen, day: inDay };
}

/** The current counts without counting (GET /rateLimit/order). */
export async function orderCounts(redis: Redis, userId: string, now = Date.now()): Promise<OrderCounts> {
  const [ten, day] = await redis.mget<(string | number | null)[]>(...keys(userId, now));
  return { tenSeconds: Number(ten ?? 0), day: Number(day ?? 0) };
}

/**
 * On the placing routes (after `signed`): counts the placement beside the order's own round trip
 * and reports the counts in `X-MBX-ORDER-COUNT-10S` / `X-MBX-ORDER-COUNT-1D`. Redis failing
 * leaves the headers out, never the order.
 */
export const orderCountHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  const counting = countOrder(getRedis(c), c.get("principal").userId).catch((err: unknown) => {
    c.get("log").warn("binance order count unavailable", describeError(err));
    return null;
  });
  await next();
  const counts = await counting;
  if (!counts) return;
  c.res.headers.set("X-MBX-ORDER-COUNT-10S", String(counts.tenSeconds));
  c.res.headers.set("X-MBX-ORDER-COUNT-1D", String(counts.day));
};
