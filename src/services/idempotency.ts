import type { Redis } from "@upstash/redis/cloudflare";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { AppError, ErrorCode, serviceUnavailable } from "../lib/errors";

/**
 * `Idempotency-Key` for state-changing requests (withdrawals, order placement): the first
 * response to (scope, caller, key) is kept in Redis for 24 hours and replayed to any retry
 * with the same request; the same key with a different request is a 422, and a retry while
 * the first is still running a 409. A failed attempt (any error) frees the key so the client
 * can retry; the services underneath stay idempotent on their own (unique keys in Postgres),
 * so even a lost Redis entry cannot execute a request twice.
 */

export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** A running attempt holds the key at most this long (a crashed Worker must not block retries for a day). */
const IN_PROGRESS_TTL_SECONDS = 60;
const KEY_FORMAT = /^[A-Za-z0-9_.:-]{8,128}$/;

export interface IdempotentResponse<T = unknown> {
  status: number;
  body: T;
}

export interface IdempotencyScope {
  /** What kind of request, e.g. "withdrawal", "order". */
  scope: string;
  /** Who asked (user id, or api key id): keys never collide across callers. */
  caller: string;
  key: string;
  /** The request as understood (method, path and parsed body): a different request under the same key is refused. */
  request: unknown;
}

type Stored =
  | { state: "in_progress"; fingerprint: string }
  | { state: "done"; fingerprint: string; status: number; body: unknown };

/** Checks the header's format; a missing key is a 400 when `required`. */
export function parseIdempotencyKey(header: string | undefined, required: boolean): string | undefined {
  if (header === undefined || header === "") {
    if (!required) return undefined;
    throw new AppError(
      400,
      ErrorCode.IDEMPOTENCY_KEY_REQUIRED,
      "This request needs an Idempotency-Key header",
    );
  }
  if (!KEY_FORMAT.test(header)) {
    throw new AppError(
      400,
      ErrorCode.BAD_REQUEST,
      "Idempotency-Key must be 8-128 characters of letters, digits, '_', '-', '.', ':'",
    );
  }
  return header;
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function stableStringify(value: unknown): string {
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function decode(raw: unknown): Stored | null {
  if (raw === null || raw === undefined) return null;
  return (typeof raw === "string" ? JSON.parse(raw) : raw) as Stored;
}

async function redisCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch {
    throw serviceUnavailable("Idempotency store unavailable; retry with the same Idempotency-Key");
  }
}

/**
 * Runs `execute` once per (scope, caller, key); returns its response, or the stored one with
 * `replayed: true`.
 */
export async function runIdempotent<T>(
  redis: Redis,
  scope: IdempotencyScope,
  execute: () => Promise<IdempotentResponse<T>>,
): Promise<{ response: IdempotentResponse<T>; replayed: boolean }> {
  const redisKey = `idempotency:${scope.scope}:${scope.caller}:${scope.key}`;
  const fingerprint = bytesToHex(sha256(new TextEncoder().encode(stableStringify(scope.request))));
  const claim: Stored = { state: "in_progress", fingerprint };
  const claimed = await redisCall(() =>
    redis.set(redisKey, JSON.stringify(claim), { nx: true, ex: IN_PROGRESS_TTL_SECONDS }),
  );
  if (claimed === null) {
    const existing = decode(await redisCall(() => redis.get(redisKey)));
    if (existing && existing.fingerprint !== fingerprint) {
      throw new AppError(
        422,
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This Idempotency-Key was already used with a different request",
      );
    }
    if (existing?.state === "done") {
      return { response: { status: existing.status, body: existing.body as T }, replayed: true };
    }
    if (existing) {
      throw new AppError(
        409,
        ErrorCode.IDEMPOTENCY_IN_PROGRESS,
        "A request with this Idempotency-Key is still being processed",
        undefined,
        { "Retry-After": "1" },
      );
    }
    // The key expired between SET and GET: run as a fresh request.
    return runIdempotent(redis, scope, execute);
  }
  let response: IdempotentResponse<T>;
  try {
    response = await execute();
  } catch (err) {
    await redis.del(redisKey).catch(() => {});
    throw err;
  }
  const done: Stored = { state: "done", fingerprint, status: response.status, body: response.body };
  // The change is committed: failing to remember the response must not fail the request.
  await redis.set(redisKey, JSON.stringify(done), { ex: IDEMPOTENCY_TTL_SECONDS }).catch(() => {});
  return { response, replayed: false };
}
