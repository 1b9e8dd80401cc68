/**
 * Callers known to be over a limit, each with when its window frees up (ms), so a flood is
 * refused in the isolate without a Redis round trip. One map per limit, shared by
 * `checkRateLimitsAndRead` and @upstash/ratelimit, which takes it as its `ephemeralCache` and
 * only `set`s, reads and deletes entries in it (it forgets an entry only when that caller asks
 * again after its reset, so a flood of distinct callers would grow its own map without end).
 *
 * Bounded by keeping the callers it has: a new caller first drops the expired entries at the
 * front (callers of one limit are refused until the end of the same window, so insertion order
 * is reset order), then is not recorded while the map is still full. Dropping the oldest
 * instead would let a flood of distinct refused callers push an abuser out, and a caller not
 * recorded is admitted while Redis is down (the general limits fail open). One not recorded
 * still asks Redis on each request, which refuses it while Redis answers.
 */
export class RefusedCallers extends Map<string, number> {
  constructor(
    readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  override set(caller: string, until: number): this {
    if (super.has(caller)) super.delete(caller);
    else {
      const now = this.now();
      for (const [first, firstUntil] of this) {
        if (firstUntil >= now) break;
        super.delete(first);
      }
      if (this.size >= this.maxEntries) return this;
    }
    return super.set(caller, until);
  }
}

/** Refused callers kept per limit. */
export const MAX_REFUSED_CALLERS = 10_000;

const perLimit = new Map<string, RefusedCallers>();

/** The isolate's refused callers of one limit (plain data, shared across requests). */
export function refusedCallers(name: string, limit: number, window: string): RefusedCallers {
  const key = `${name}:${limit}:${window}`;
  let callers = perLimit.get(key);
  if (!callers) perLimit.set(key, (callers = new RefusedCallers(MAX_REFUSED_CALLERS)));
  return callers;
}
