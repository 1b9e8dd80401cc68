/**
 * Callers known to be over a limit, each with when its window frees up (ms), so a flood is
 * refused in the isolate without a Redis round trip. One map per limit, shared by
 * `checkRateLimitsAndRead` and @upstash/ratelimit, which takes it as its `ephemeralCache` and
 * only `set`s, reads and deletes entries in it (it forgets an entry only when that caller asks
 * again after its reset, so a flood of distinct callers would grow its own map without end).
 *
 * Bounded: a new caller first drops the expired entries at the front (callers of one limit are
 * refused until the end of the same window, so insertion order is nearly reset order), then the
 * oldest while the map is full. A dropped caller is not admitted by that: its next request asks
 * Redis, which refuses it again.
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
        if (firstUntil >= now && this.size < this.maxEntries) break;
        super.delete(first);
      }
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
