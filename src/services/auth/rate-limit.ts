import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";

export interface LimitVerdict {
  success: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the window frees up. */
  reset: number;
}

export type Duration = Parameters<typeof Ratelimit.slidingWindow>[1];

// Identifiers known to be over their limit, shared across requests of this isolate so a
// flood is refused without a Redis round trip (plain data, not an I/O object).
const blocked = new Map<string, Map<string, number>>();
// The algorithms are plain closures over (limit, window): built once per isolate.
const algorithms = new Map<string, ReturnType<typeof Ratelimit.slidingWindow>>();

function limiterFor(redis: Redis, name: string, limit: number, window: Duration): Ratelimit {
  const cacheKey = `${name}:${limit}:${window}`;
  let cache = blocked.get(cacheKey);
  if (!cache) blocked.set(cacheKey, (cache = new Map()));
  let algorithm = algorithms.get(cacheKey);
  if (!algorithm) algorithms.set(cacheKey, (algorithm = Ratelimit.slidingWindow(limit, window)));
  return new Ratelimit({
    redis,
    prefix: `ratelimit:${name}:${limit}:${window}`,
    limiter: algorithm,
    ephemeralCache: cache,
    timeout: 0,
    analytics: false,
    enableTelemetry: false,
  });
}

/**
 * One sliding-window check, counting this request. Throws when Redis cannot answer (no timeout
 * fallback): each caller decides whether that fails open or closed. `rate`: what this request
 * costs (a Binance-style request weight), 1 by default.
 */
export async function checkRateLimit(
  redis: Redis,
  name: string,
  limit: number,
  window: Duration,
  identifier: string,
  rate = 1,
): Promise<LimitVerdict> {
  const limiter = limiterFor(redis, name, limit, window);
  const {
    success,
    limit: max,
    remaining,
    reset,
  } = await limiter.limit(identifier, rate === 1 ? undefined : { rate });
  return { success, limit: max, remaining: Math.max(0, remaining), reset };
}

/** The same window's verdict without counting anything (for limits that count only failures). */
export async function peekRateLimit(
  redis: Redis,
  name: string,
  limit: number,
  window: Duration,
  identifier: string,
): Promise<LimitVerdict> {
  const {
    remaining,
    reset,
    limit: max,
  } = await limiterFor(redis, name, limit, window).getRemaining(identifier);
  return { success: remaining > 0, limit: max, remaining: Math.max(0, remaining), reset };
}

/** `RateLimit-*` headers (and `Retry-After` when refused), in seconds. */
export function rateLimitHeaders(verdict: LimitVerdict, now = Date.now()): Record<string, string> {
  const resetSeconds = String(Math.max(1, Math.ceil((verdict.reset - now) / 1000)));
  const headers: Record<string, string> = {
    "RateLimit-Limit": String(verdict.limit),
    "RateLimit-Remaining": String(verdict.remaining),
    "RateLimit-Reset": resetSeconds,
  };
  if (!verdict.success) headers["Retry-After"] = resetSeconds;
  return headers;
}
