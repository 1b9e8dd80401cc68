import type { Redis } from "@upstash/redis/cloudflare";

/**
 * Per-account slow-down of password guessing, whatever the IP (OWASP: throttle, do not lock out).
 * The first `freeFailures` failed sign-ins cost nothing; after that each attempt must wait
 * 1 s, 2 s, 4 s … (at most `maxDelayMs`) after the previous one. A guesser with a botnet gets
 * about one guess a minute per account; the owner, at worst, waits a minute, never fifteen.
 * Failures are forgotten `memoryMs` after the last one, and a successful sign-in clears them.
 * Ten free failures: twice the per email + IP budget, so one device's typos never slow the account.
 */
export const SIGN_IN_SLOWDOWN = { freeFailures: 10, maxDelayMs: 60_000, memoryMs: 15 * 60_000 };

/** How long after the previous attempt the next may come, once `failures` have failed. */
export function signInDelayMs(failures: number, rules = SIGN_IN_SLOWDOWN): number {
  if (failures < rules.freeFailures) return 0;
  return Math.min(1000 * 2 ** (failures - rules.freeFailures), rules.maxDelayMs);
}

// Atomic check-and-reserve: while throttled, an allowed attempt takes the slot (`last` = now),
// so a burst of parallel guesses at the moment the delay ends gets one attempt, not a hundred.
// Returns the milliseconds still to wait, 0 when the attempt may go ahead.
const RESERVE_ATTEMPT = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n < tonumber(ARGV[2]) then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local delay = math.min(1000 * 2 ^ (n - tonumber(ARGV[2])), tonumber(ARGV[3]))
local now = tonumber(ARGV[1])
if now < last + delay then return math.ceil(last + delay - now) end
redis.call('HSET', KEYS[1], 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0`;

const key = (account: string) => `signin-failures:${account}`;

/** Milliseconds this account's next sign-in attempt must still wait (0: go ahead, slot taken). */
export async function reserveSignInAttempt(
  redis: Redis,
  account: string,
  now = Date.now(),
  rules = SIGN_IN_SLOWDOWN,
): Promise<number> {
  const wait = await redis
    .createScript<number>(RESERVE_ATTEMPT)
    .exec(
      [key(account)],
      [String(now), String(rules.freeFailures), String(rules.maxDelayMs), String(rules.memoryMs)],
    );
  return Number(wait);
}

/** Counts a failed sign-in of the account. */
export async function recordSignInFailure(
  redis: Redis,
  account: string,
  now = Date.now(),
  rules = SIGN_IN_SLOWDOWN,
): Promise<void> {
  const k = key(account);
  await redis.pipeline().hincrby(k, "n", 1).hset(k, { last: now }).pexpire(k, rules.memoryMs).exec();
}

/** A successful sign-in: the account's failures are forgotten. */
export async function clearSignInFailures(redis: Redis, account: string): Promise<void> {
  await redis.del(key(account));
}
