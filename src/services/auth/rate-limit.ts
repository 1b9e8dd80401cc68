import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import { refusedCallers, type RefusedCallers } from "./refused-callers";

export interface LimitVerdict {
  success: boolean;
  limit: number;
  remaining: number;
  /** Unix ms when the window frees up. */
  reset: number;
}

export type Duration = Parameters<typeof Ratelimit.slidingWindow>[1];

// The algorithms are plain closures over (limit, window): built once per isolate.
const algorithms = new Map<string, ReturnType<typeof Ratelimit.slidingWindow>>();

function limiterFor(redis: Redis, name: string, limit: number, window: Duration): Ratelimit {
  const cacheKey = `${name}:${limit}:${window}`;
  let algorithm = algorithms.get(cacheKey);
  if (!algorithm) algorithms.set(cacheKey, (algorithm = Ratelimit.slidingWindow(limit, window)));
  return new Ratelimit({
    redis,
    prefix: `ratelimit:${name}:${limit}:${window}`,
    limiter: algorithm,
    ephemeralCache: refusedCallers(name, limit, window),
    timeout: 0,
    analytics: false,
    enableTelemetry: false,
  });
}

/**
 * One sliding-window check, counting this request. Throws when Redis cannot answer (no timeout
 * fallback): each caller decides whether that fails open or closed. A request weighing more than
 * 1 is `checkRateLimitsAndRead`'s `cost`: the library counts a heavy request that goes past the
 * limit, and its refusal would then refuse lighter requests that fit.
 */
export async function checkRateLimit(
  redis: Redis,
  name: string,
  limit: number,
  window: Duration,
  identifier: string,
): Promise<LimitVerdict> {
  const {
    success,
    limit: max,
    remaining,
    reset,
  } = await limiterFor(redis, name, limit, window).limit(identifier);
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

/** A limit counted by `checkRateLimitsAndRead`: the same limiter as `checkRateLimit(name, …)`. */
export interface LimitCheck {
  name: string;
  limit: number;
  window: Duration;
  identifier: string;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const windowSizes = new Map<string, number>();

/** A window's length in ms ("1 m" → 60000), parsed once per isolate. */
export function windowMs(window: Duration): number {
  let size = windowSizes.get(window);
  if (size !== undefined) return size;
  const match = /^(\d+)\s?(ms|s|m|h|d)$/.exec(window);
  if (!match) throw new Error(`unsupported rate limit window: ${window}`);
  size = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  windowSizes.set(window, size);
  return size;
}

/** The limiter's Redis key prefix for one identifier, as @upstash/ratelimit names it (its windows append `:<index>`). */
export const limitKey = (l: LimitCheck) => `ratelimit:${l.name}:${l.limit}:${l.window}:${l.identifier}`;

/** A window's counts as Redis reported them: `current` in window `index`, `previous` in the one before. */
export interface WindowCounts {
  index: number;
  current: number;
  previous: number;
}

// @upstash/ratelimit's single-region sliding window (same keys, same arithmetic, so both count
// into one window) for each limit, then GET of one key: KEYS = [key to read or "", then per
// limit its current and previous window]; ARGV = [now ms, the request's cost, then per limit
// tokens, window ms]. A request that does not fit is refused and not counted (the library
// counts a heavy one that goes past the limit). Returns [the key's value, then per limit the
// tokens left after the request (negative when refused: left before it, minus the cost), the
// current window's count and the previous window's] (the counts teach this isolate:
// batched-limits.ts).
const SLIDING_WINDOWS_THEN_GET = `
local now, cost = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = { KEYS[1] ~= "" and redis.call('GET', KEYS[1]) or false }
for i = 1, (#KEYS - 1) / 2 do
  local current, previous = KEYS[2 * i], KEYS[2 * i + 1]
  local tokens, window = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  local inCurrent = tonumber(redis.call('GET', current) or '0')
  local before = tonumber(redis.call('GET', previous) or '0')
  local inPrevious = math.floor((1 - (now % window) / window) * before)
  if inPrevious + inCurrent + cost > tokens then
    out[3 * i - 1] = tokens - (inCurrent + inPrevious) - cost
  else
    inCurrent = redis.call('INCRBY', current, cost)
    if inCurrent == cost then redis.call('PEXPIRE', current, window * 2 + 1000) end
    out[3 * i - 1] = tokens - (inCurrent + inPrevious)
  end
  out[3 * i] = inCurrent
  out[3 * i + 1] = before
end
return out`;

const scripts = new WeakMap<Redis, ReturnType<Redis["createScript"]>>();

/**
 * Several sliding-window limits, each counting this request, and one key's JSON value (parsed)
 * in ONE Redis command: the authenticated hot path's IP limit, caller limit and session. What
 * `checkRateLimit` does per limit through @upstash/ratelimit (a limiter object, a script call
 * and an auto-pipelined batch per request) cost more CPU than the rest of the Redis round trip
 * on a one-query read. An identifier already refused in this isolate is refused again until
 * its window resets without asking Redis (the library's ephemeral cache, shared with it). Throws
 * when Redis cannot answer: the caller decides whether that fails open or closed. `counts`: each
 * counted limit's windows after this request (null for one refused here without asking).
 * `cost`: what this request weighs (a Binance-style request weight, at least 1). A request too
 * heavy for what is left is refused, not counted, and leaves no record here (lighter ones may
 * fit): only a window used up before the request marks its caller refused.
 */
export async function checkRateLimitsAndRead<T>(
  redis: Redis,
  limits: readonly LimitCheck[],
  readKey: string | null,
  cost = 1,
): Promise<{ verdicts: LimitVerdict[]; value: T | null; counts: (WindowCounts | null)[] }> {
  const now = Date.now();
  const keys = [readKey ?? ""];
  const args = [String(now), String(cost)];
  const verdicts: (LimitVerdict | null)[] = [];
  const counts: (WindowCounts | null)[] = [];
  const counted: { at: number; cache: RefusedCallers; key: string; index: number; reset: number }[] = [];
  for (const l of limits) {
    const size = windowMs(l.window);
    const index = Math.floor(now / size);
    const reset = (index + 1) * size;
    const cache = refusedCallers(l.name, l.limit, l.window);
    const key = limitKey(l);
    const until = cache.get(key);
    counts.push(null);
    if (until !== undefined && until >= now) {
      verdicts.push({ success: false, limit: l.limit, remaining: 0, reset: until });
      continue;
    }
    if (until !== undefined) cache.delete(key);
    counted.push({ at: verdicts.length, cache, key, index, reset });
    verdicts.push(null);
    keys.push(`${key}:${index}`, `${key}:${index - 1}`);
    args.push(String(l.limit), String(size));
  }
  if (keys.length === 1 && !readKey) return { verdicts: verdicts as LimitVerdict[], value: null, counts };
  let script = scripts.get(redis);
  if (!script) scripts.set(redis, (script = redis.createScript(SLIDING_WINDOWS_THEN_GET)));
  const [value, ...replies] = (await script.exec(keys, args)) as [T | string | null, ...number[]];
  counted.forEach(({ at, cache, key, index, reset }, i) => {
    const after = Number(replies[3 * i]);
    // Refused: what was left before the request (0 when the window was used up).
    const left = after < 0 ? after + cost : after;
    if (after < 0 && left <= 0) cache.set(key, reset);
    verdicts[at] = { success: after >= 0, limit: limits[at]!.limit, remaining: Math.max(0, left), reset };
    counts[at] = { index, current: Number(replies[3 * i + 1]), previous: Number(replies[3 * i + 2]) };
  });
  // A client that parses replies (the library's default) has parsed the JSON already.
  const parsed = typeof value === "string" ? (JSON.parse(value) as T) : value;
  return { verdicts: verdicts as LimitVerdict[], value: parsed ?? null, counts };
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
