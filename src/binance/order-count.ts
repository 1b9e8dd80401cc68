import type { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { describeError } from "../lib/logger";
import { BinanceError } from "./errors";

/** Binance's spot order-rate limits per account (exchangeInfo's ORDERS entries). */
export const ORDER_LIMITS = [
  { interval: "SECOND", intervalNum: 10, ms: 10_000, header: "X-MBX-ORDER-COUNT-10S", limit: 100 },
  { interval: "DAY", intervalNum: 1, ms: 86_400_000, header: "X-MBX-ORDER-COUNT-1D", limit: 200_000 },
] as const;

const keyOf = (userId: string, ms: number, now: number) =>
  `binance:orders:${ms}:${userId}:${Math.floor(now / ms)}`;

/** The account's orders in each window (fixed windows in Redis). */
export async function orderCounts(redis: Redis, userId: string, now = Date.now()): Promise<number[]> {
  const values = await redis.mget<(string | number | null)[]>(
    ...ORDER_LIMITS.map((l) => keyOf(userId, l.ms, now)),
  );
  return values.map((v) => Number(v ?? 0));
}

/**
 * Counts a new order against the account's windows, sets `X-MBX-ORDER-COUNT-*`, and refuses it
 * past a limit (429, -1015) before it reaches the book. Fails open when Redis cannot answer,
 * as the API's other general limits do.
 */
export async function countNewOrder(c: Context<AppEnv>): Promise<void> {
  const userId = c.get("principal").userId;
  const now = Date.now();
  let counts: number[];
  try {
    const p = getRedis(c).pipeline();
    for (const l of ORDER_LIMITS) {
      const key = keyOf(userId, l.ms, now);
      p.incr(key);
      p.pexpire(key, 2 * l.ms);
    }
    const replies = await p.exec<number[]>();
    counts = ORDER_LIMITS.map((_, i) => Number(replies[2 * i]));
  } catch (err) {
    c.get("log").warn("binance order count unavailable, allowing order", describeError(err));
    return;
  }
  ORDER_LIMITS.forEach((l, i) => c.header(l.header, String(counts[i])));
  const over = ORDER_LIMITS.find((l, i) => counts[i]! > l.limit);
  if (over) {
    throw new BinanceError(
      429,
      -1015,
      `Too many new orders; current limit is ${over.limit} orders per ${over.intervalNum === 1 ? "" : `${over.intervalNum} `}${over.interval}.`,
      Object.fromEntries(ORDER_LIMITS.map((l, i) => [l.header, String(counts[i])])),
    );
  }
}
