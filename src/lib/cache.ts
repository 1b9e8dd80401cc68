import type { Redis } from "@upstash/redis/cloudflare";
import { describeError, type Logger } from "./logger";

/** A Redis call that takes longer than this is abandoned: the cache must never slow a read. */
const CACHE_TIMEOUT_MS = 250;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`cache timed out after ${CACHE_TIMEOUT_MS} ms`)),
        CACHE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Cache-aside: read `key`, else `load()` and store the value for `ttlMs`. Redis being down or
 * slow only costs the cache: the value is loaded from the source and the failure logged.
 * Values are stored as JSON text (the client's automatic deserialization is not relied on).
 */
export async function cacheAside<T>(
  redis: Redis,
  log: Logger | undefined,
  key: string,
  ttlMs: number,
  load: () => Promise<T>,
): Promise<T> {
  try {
    const hit = await withTimeout(redis.get<string>(key));
    if (typeof hit === "string") return JSON.parse(hit) as T;
    if (hit !== null && hit !== undefined) return hit as T;
  } catch (err) {
    log?.warn("cache read failed; loading from the source", { key, ...describeError(err) });
  }
  const value = await load();
  if (value !== null && value !== undefined) {
    try {
      await withTimeout(redis.set(key, JSON.stringify(value), { px: ttlMs }));
    } catch (err) {
      log?.warn("cache write failed", { key, ...describeError(err) });
    }
  }
  return value;
}

/** Deletes keys; failures are logged (short TTLs bound staleness anyway). */
export async function invalidate(redis: Redis, log: Logger | undefined, ...keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  try {
    return await withTimeout(redis.del(...keys));
  } catch (err) {
    log?.warn("cache invalidation failed", { keys, ...describeError(err) });
    return 0;
  }
}
