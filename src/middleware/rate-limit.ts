import type { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { AppError, ErrorCode } from "../lib/errors";
import { describeError } from "../lib/logger";
import { rateLimitHits } from "../lib/metrics/worker-metrics";
import { checkRateLimit, rateLimitHeaders, type LimitVerdict } from "../services/auth/rate-limit";

/**
 * Rate limits (sliding windows in Redis, limits per environment in wrangler.toml):
 * - per IP (100/min) on every /api request: `apiRateLimit` in authenticate.ts.
 * - per user or API key (60/min): `authenticate` (for access tokens, started by `apiRateLimit`
 *   in the same Redis round as the IP limit).
 * - login (5 per 15 min per email + IP): in the login route, before any hashing.
 * If Redis is unreachable, these general limits FAIL OPEN (logged as a warning): Redis is an
 * availability dependency, Postgres and the per-credential checks remain the gate. Login
 * fails CLOSED (503), because there the limit is what stops password guessing.
 */
export function tooManyRequests(verdict: LimitVerdict, message = "Too many requests"): AppError {
  return new AppError(429, ErrorCode.RATE_LIMITED, message, undefined, rateLimitHeaders(verdict));
}

/**
 * Sets the RateLimit-* headers of the strictest limiter that applied (replacing those of a
 * broader one) and returns the 429 to throw when it refused.
 */
export function applyVerdict(
  c: Context<AppEnv>,
  limiter: string,
  verdict: LimitVerdict,
  message?: string,
): AppError | null {
  for (const [k, v] of Object.entries(rateLimitHeaders(verdict))) c.header(k, v);
  if (verdict.success) return null;
  rateLimitHits.series(limiter).inc();
  return tooManyRequests(verdict, message);
}

/** Applies a fail-open limit; sets the RateLimit-* headers; throws 429 when exceeded. */
export async function enforceLimit(
  c: Context<AppEnv>,
  name: string,
  limit: number,
  identifier: string,
  redis: Redis = getRedis(c),
): Promise<void> {
  let verdict: LimitVerdict;
  try {
    verdict = await checkRateLimit(redis, name, limit, "1 m", identifier);
  } catch (err) {
    c.get("log").warn("rate limit unavailable, allowing request", { limiter: name, ...describeError(err) });
    return;
  }
  const refused = applyVerdict(c, name, verdict);
  if (refused) throw refused;
}
