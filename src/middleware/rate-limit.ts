import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { getRedis } from "../http/resources";
import { AppError, ErrorCode, serviceUnavailable } from "../lib/errors";
import { describeError } from "../lib/logger";
import { rateLimitHits } from "../lib/metrics/worker-metrics";
import { reserveSignInAttempt } from "../services/auth/sign-in-slowdown";
import {
  checkRateLimit,
  peekRateLimit,
  rateLimitHeaders,
  type Duration,
  type LimitVerdict,
} from "../services/auth/rate-limit";

/**
 * Rate limits (sliding windows in Redis, limits per environment in wrangler.toml):
 * - per IP (100/min) on every /api request: `apiRateLimit` in authenticate.ts.
 * - per user or API key (60/min): `authenticate` (for access tokens, counted by `apiRateLimit`
 *   with the IP limit: judged in the isolate and counted in Redis in batches while it knows
 *   recent counts, services/auth/batched-limits.ts, else in one Redis command with the session
 *   read: `checkRateLimitsAndRead`).
 * - login (5 per 15 min per email + IP): in the login route, before any hashing; and per
 *   account whatever the IP, a growing delay between attempts after 10 failures
 *   (`enforceSignInSlowdown`: a slow-down for a distributed guesser, never a lockout);
 *   password changes (5 per 15 min per user, each attempt costs two Argon2id hashes).
 * If Redis is unreachable, these general limits FAIL OPEN (logged as a warning): Redis is an
 * availability dependency, Postgres and the per-credential checks remain the gate; but
 * `enforceLimit` still refuses a caller this isolate refused in the current window, without
 * asking Redis (services/auth/refused-callers.ts keeps the first 10,000 per limit, so a flood
 * cannot push it out). The
 * password limits fail CLOSED (503, `enforcePasswordLimit`), because there the limit is what
 * stops password guessing.
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
): Promise<void> {
  let verdict: LimitVerdict;
  try {
    verdict = await checkRateLimit(getRedis(c), name, limit, "1 m", identifier);
  } catch (err) {
    c.get("log").warn("rate limit unavailable, allowing request", { limiter: name, ...describeError(err) });
    return;
  }
  const refused = applyVerdict(c, name, verdict);
  if (refused) throw refused;
}

/**
 * Runs a check that guards password guessing: when Redis cannot answer it fails CLOSED (503),
 * because there the limit is what stops the guesser. `what` names the check in the error log.
 */
async function failClosed<T>(
  c: Context<AppEnv>,
  what: string,
  fields: Record<string, unknown>,
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (err) {
    c.get("log").error(`${what} unavailable: refusing`, { ...fields, ...describeError(err) });
    throw serviceUnavailable("Sign-in and password changes are temporarily unavailable");
  }
}

/**
 * A limit that guards password guessing: it fails CLOSED (503) when Redis cannot answer.
 * `peek` checks the window without counting this request (limits that count only failures).
 */
export async function enforcePasswordLimit(
  c: Context<AppEnv>,
  limit: { name: string; max: number; window: Duration; identifier: string; message: string; peek?: boolean },
): Promise<void> {
  const check = limit.peek ? peekRateLimit : checkRateLimit;
  const verdict = await failClosed(c, "password rate limiter", { limiter: limit.name }, () =>
    check(getRedis(c), limit.name, limit.max, limit.window, limit.identifier),
  );
  const refused = applyVerdict(c, limit.name, verdict, limit.message);
  if (refused) throw refused;
}

/**
 * The per-account sign-in slow-down (services/auth/sign-in-slowdown.ts): 429 with Retry-After
 * while the account's delay runs. Fails CLOSED (503) like the other password limits.
 */
export async function enforceSignInSlowdown(c: Context<AppEnv>, account: string): Promise<void> {
  const waitMs = await failClosed(c, "sign-in slow-down", {}, () =>
    reserveSignInAttempt(getRedis(c), account),
  );
  if (waitMs <= 0) return;
  rateLimitHits.series("login-account-slowdown").inc();
  const retryAfter = String(Math.max(1, Math.ceil(waitMs / 1000)));
  throw new AppError(
    429,
    ErrorCode.RATE_LIMITED,
    `Too many failed sign-ins for this account; try again in ${retryAfter} s`,
    undefined,
    { "Retry-After": retryAfter },
  );
}
