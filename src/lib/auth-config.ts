import type { Argon2Params } from "./password-hash";

/** Authentication settings of one environment, parsed from wrangler.toml [vars]. */
export interface AuthConfig {
  rateLimitIpPerMinute: number;
  rateLimitUserPerMinute: number;
  rateLimitLoginPer15Minutes: number;
  argon2: Argon2Params;
  /** How far a signed request's `X-API-Key-Timestamp` may be from now (≤ 60 s). */
  apiKeyRecvWindowMs: number;
  sessionIdleMs: number;
}

export type AuthConfigEnv = Pick<
  Env,
  | "RATE_LIMIT_IP_PER_MINUTE"
  | "RATE_LIMIT_USER_PER_MINUTE"
  | "RATE_LIMIT_LOGIN_PER_15_MINUTES"
  | "ARGON2_PARAMS"
  | "API_KEY_RECV_WINDOW_MS"
  | "SESSION_IDLE_HOURS"
>;

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 7 * 24 * 3_600_000;
export const EMAIL_VERIFICATION_TTL_MS = 24 * 3_600_000;
export const MAX_API_KEY_RECV_WINDOW_MS = 60_000;

function positiveInt(name: string, raw: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER) {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(`${name} must be an integer between 1 and ${max}, got "${raw}"`);
  }
  return n;
}

/**
 * OWASP's equivalent minimums for Argon2id (Password Storage Cheat Sheet): memory in KiB and the
 * fewest iterations that memory needs. More memory with fewer passes, or the reverse, is as costly.
 */
export const ARGON2_MINIMUMS: readonly { m: number; t: number }[] = [
  { m: 47104, t: 1 },
  { m: 19456, t: 2 },
  { m: 12288, t: 3 },
  { m: 9216, t: 4 },
  { m: 7168, t: 5 },
];
/** A 64 MiB hash did not give its memory back in local workerd (DESIGN.md): the 128 MB isolate caps it. */
export const ARGON2_MAX_MEMORY_KIB = 48 * 1024;

/** Parses `m=19456,t=2,p=1`; refuses anything below OWASP's minimums or over the isolate's memory. */
export function parseArgon2Params(raw: string | undefined): Argon2Params {
  if (!raw) return { m: 19456, t: 2, p: 1 };
  const match = /^m=(\d+),t=(\d+),p=(\d+)$/.exec(raw.trim());
  if (!match) throw new Error(`ARGON2_PARAMS must look like "m=19456,t=2,p=1", got "${raw}"`);
  const params = { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) };
  if (params.p < 1 || params.p > 16 || !ARGON2_MINIMUMS.some((min) => params.m >= min.m && params.t >= min.t))
    throw new Error(`ARGON2_PARAMS too weak: ${raw} (OWASP: m=19456,t=2,p=1 or an equivalent)`);
  if (params.m > ARGON2_MAX_MEMORY_KIB || params.t > 10)
    throw new Error(`ARGON2_PARAMS too costly for a Worker isolate: ${raw}`);
  return params;
}

const cache = new Map<string, AuthConfig>();
const byEnv = new WeakMap<object, AuthConfig>();

export function authConfig(env: Partial<AuthConfigEnv>): AuthConfig {
  // The same env object comes back on every request of an isolate: skip reading it again.
  const known = byEnv.get(env);
  if (known) return known;
  const key = JSON.stringify([
    env.RATE_LIMIT_IP_PER_MINUTE,
    env.RATE_LIMIT_USER_PER_MINUTE,
    env.RATE_LIMIT_LOGIN_PER_15_MINUTES,
    env.ARGON2_PARAMS,
    env.API_KEY_RECV_WINDOW_MS,
    env.SESSION_IDLE_HOURS,
  ]);
  let config = cache.get(key);
  if (!config) {
    config = {
      rateLimitIpPerMinute: positiveInt("RATE_LIMIT_IP_PER_MINUTE", env.RATE_LIMIT_IP_PER_MINUTE, 100),
      rateLimitUserPerMinute: positiveInt("RATE_LIMIT_USER_PER_MINUTE", env.RATE_LIMIT_USER_PER_MINUTE, 60),
      rateLimitLoginPer15Minutes: positiveInt(
        "RATE_LIMIT_LOGIN_PER_15_MINUTES",
        env.RATE_LIMIT_LOGIN_PER_15_MINUTES,
        5,
      ),
      argon2: parseArgon2Params(env.ARGON2_PARAMS),
      apiKeyRecvWindowMs: positiveInt(
        "API_KEY_RECV_WINDOW_MS",
        env.API_KEY_RECV_WINDOW_MS,
        5_000,
        MAX_API_KEY_RECV_WINDOW_MS,
      ),
      sessionIdleMs: positiveInt("SESSION_IDLE_HOURS", env.SESSION_IDLE_HOURS, 24, 7 * 24) * 3_600_000,
    };
    cache.set(key, config);
  }
  byEnv.set(env, config);
  return config;
}
