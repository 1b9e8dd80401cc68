import { directHostname, isPoolerUrl } from "../db/neon-hosts";
import { fromBase64 } from "./base64";
import type { Logger } from "./logger";

/**
 * What production refuses to start with: secrets missing, too short, or left at a placeholder
 * (the values of .dev.vars.example, "change-me", "..."), and the local-only settings. Returns
 * one line per problem naming the variable and the rule, never the value.
 */
export function secretProblems(env: Partial<Record<keyof Env, unknown>>): string[] {
  const problems: string[] = [];
  const text = (name: keyof Env): string | null => {
    const value = env[name];
    if (typeof value !== "string" || value.trim() === "") {
      problems.push(`${name} is not set`);
      return null;
    }
    if (isPlaceholder(value)) {
      problems.push(`${name} is a placeholder`);
      return null;
    }
    return value;
  };

  const webhook = text("DEPOSIT_WEBHOOK_SECRET");
  if (webhook !== null && new TextEncoder().encode(webhook).length < MIN_WEBHOOK_SECRET_BYTES)
    problems.push(`DEPOSIT_WEBHOOK_SECRET must be at least ${MIN_WEBHOOK_SECRET_BYTES} bytes`);
  if (webhook !== null && new Set(webhook).size < MIN_DISTINCT_CHARACTERS)
    problems.push("DEPOSIT_WEBHOOK_SECRET is not random (too few distinct characters)");

  const aesKey = text("API_KEY_ENCRYPTION_KEY");
  if (aesKey !== null && !isAes256Key(aesKey))
    problems.push("API_KEY_ENCRYPTION_KEY must be 32 random bytes in base64");

  const jwtKeys = text("JWT_SIGNING_KEYS");
  if (jwtKeys !== null && !hasRealSigningKey(jwtKeys))
    problems.push("JWT_SIGNING_KEYS must start with a real Ed25519 private JWK (kid, x and d of 32 bytes)");

  const redisToken = text("UPSTASH_REDIS_REST_TOKEN");
  if (redisToken !== null && redisToken.length < 20)
    problems.push("UPSTASH_REDIS_REST_TOKEN is too short to be Upstash's");
  const redisUrl = text("UPSTASH_REDIS_REST_URL");
  if (redisUrl !== null && !/^https:\/\//.test(redisUrl))
    problems.push("UPSTASH_REDIS_REST_URL must be https");

  const databaseUrl = text("DATABASE_URL");
  if (databaseUrl !== null && isLocalDatabase(databaseUrl))
    problems.push("DATABASE_URL points at a local database or has no password");
  // Optional: only a value that is set is checked. It must name DATABASE_URL's database: the
  // market objects lock and settle over it, everything else reads and writes over DATABASE_URL.
  const directUrl = env.DATABASE_URL_DIRECT;
  if (typeof directUrl === "string" && directUrl.trim()) {
    if (isLocalDatabase(directUrl))
      problems.push("DATABASE_URL_DIRECT points at a local database or has no password");
    else if (isPoolerUrl(directUrl))
      problems.push("DATABASE_URL_DIRECT names Neon's pooled host (-pooler); it must be the direct one");
    else if (databaseUrl !== null && !sameDatabase(databaseUrl, directUrl))
      problems.push(
        "DATABASE_URL_DIRECT is not DATABASE_URL's database (host without -pooler, user, database)",
      );
  }
  for (const local of ["NEON_WS_PROXY", "NEON_FETCH_ENDPOINT"] as const) {
    if (env[local]) problems.push(`${local} is for the local stack only and must be unset`);
  }
  return problems;
}

export const MIN_WEBHOOK_SECRET_BYTES = 32;
const MIN_DISTINCT_CHARACTERS = 10;

const PLACEHOLDER =
  /change-?me|placeholder|example|\.\.\.|^(secret|password|test|dev|todo|xxx+|base64-32-bytes)$/i;
const isPlaceholder = (value: string) => PLACEHOLDER.test(value.trim());

function isAes256Key(value: string): boolean {
  try {
    const bytes = fromBase64(value);
    return bytes.length === 32 && new Set(bytes).size > 8;
  } catch {
    return false;
  }
}

const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;

function hasRealSigningKey(value: string): boolean {
  try {
    const [first] = JSON.parse(value) as {
      kty?: string;
      crv?: string;
      kid?: string;
      x?: string;
      d?: string;
    }[];
    return (
      first?.kty === "OKP" &&
      first.crv === "Ed25519" &&
      typeof first.kid === "string" &&
      first.kid.length > 0 &&
      BASE64URL_32_BYTES.test(first.x ?? "") &&
      BASE64URL_32_BYTES.test(first.d ?? "")
    );
  } catch {
    return false;
  }
}

function isLocalDatabase(value: string): boolean {
  try {
    const url = new URL(value);
    return /^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(url.hostname) || url.password.length < 8;
  } catch {
    return true;
  }
}

/** Neon's pooled and direct strings of one database: the hosts differ by `-pooler` in the first label. */
function sameDatabase(pooled: string, direct: string): boolean {
  try {
    const [a, b] = [new URL(pooled), new URL(direct)];
    return (
      directHostname(a.hostname) === directHostname(b.hostname) &&
      a.username === b.username &&
      a.pathname === b.pathname
    );
  } catch {
    return false;
  }
}

const verdicts = new WeakMap<object, string[]>();

/**
 * The problems that stop production from serving, checked once per env object (the same object
 * comes back for every request of an isolate); the first check logs them as an error, so a bad
 * deploy says why it answers 503 instead of running on a guessable secret. Other environments
 * (development, tests, sandbox, audit) are not checked.
 */
export function productionRefusal(env: Env, log: Logger): string[] {
  if (env.ENVIRONMENT !== "production") return [];
  let problems = verdicts.get(env);
  if (!problems) {
    problems = secretProblems(env);
    verdicts.set(env, problems);
    if (problems.length)
      log.error("refusing to serve: production secrets are missing, weak or placeholders", { problems });
  }
  return problems;
}
