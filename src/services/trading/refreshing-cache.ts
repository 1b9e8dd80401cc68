/**
 * A per-isolate cache whose entries are renewed before they expire, by one caller at a time.
 * An entry younger than `refreshAfterMs` is served; from that age on, the first caller loads it
 * anew while the others keep being served the cached value until it is `maxAgeMs` old, so a hot
 * key is renewed by one load instead of every request in flight loading it at once when it
 * expires. Callers never await another caller's load: workerd cancels what a request's promise
 * leads to when that request ends, so sharing one load across requests could hang the others.
 * An entry's age is counted from when its load started, so a slow load never passes off what it
 * read as newer than it is, nor replaces what a later load read. Expired entries are dropped, not
 * only replaced (they may hold what should not linger in memory).
 */
/**
 * Thrown by a load whose answer is that the value is gone (e.g. a revoked key), not that the
 * load failed: the cached copy is forgotten and not served.
 */
export class NoSuchValue extends Error {}

export class RefreshingCache<V> {
  /** In the order they were cached (a replaced entry moves to the end), so oldest first. */
  private readonly entries = new Map<string, { value: V; at: number; loading: boolean }>();
  /** When `delete` forgot a key whose next load has not been cached yet. */
  private readonly forgotten = new Map<string, number>();
  private sweepAt = 0;

  constructor(
    private readonly maxAgeMs: number,
    private readonly refreshAfterMs: number,
    private readonly now: () => number = Date.now,
    /** Most entries kept; the oldest cached goes first. */
    private readonly maxEntries = Infinity,
  ) {}

  /**
   * The cached value, or the loaded one (`fresh`: always load). A failed renewal is served the
   * cached value while it is younger than the maximum age (a `fresh` load's failure is thrown).
   */
  async get(key: string, load: () => Promise<V>, fresh = false): Promise<V> {
    const at = this.now();
    if (at >= this.sweepAt) this.sweep(at);
    const hit = this.entries.get(key);
    if (hit && !fresh) {
      const age = at - hit.at;
      if (age < this.refreshAfterMs || (age < this.maxAgeMs && hit.loading)) return hit.value;
      hit.loading = true;
    }
    let loaded: V;
    try {
      loaded = await load();
      this.set(key, loaded, at);
    } catch (err) {
      if (err instanceof NoSuchValue) {
        this.delete(key);
        throw err;
      }
      const cached = this.entries.get(key);
      if (fresh || !cached || this.now() - cached.at >= this.maxAgeMs) throw err;
      return cached.value;
    } finally {
      // A failed load lets the next caller try.
      if (hit) hit.loading = false;
    }
    // A load that started before a `delete` answers its caller but is not cached.
    return this.entries.get(key)?.value ?? loaded;
  }

  /** Caches `value` as read at `at`, unless the entry holds a value read later. */
  set(key: string, value: V, at = this.now()): void {
    const current = this.entries.get(key);
    if (current && current.at > at) return;
    const forgotten = this.forgotten.get(key);
    if (forgotten !== undefined) {
      if (forgotten >= at) return;
      this.forgotten.delete(key);
    }
    if (current) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, at, loading: false });
  }

  /** Drops the expired entries at the front, at most once per `refreshAfterMs`. */
  private sweep(now: number): void {
    this.sweepAt = now + this.refreshAfterMs;
    for (const [key, entry] of this.entries) {
      if (now - entry.at < this.maxAgeMs) break;
      this.entries.delete(key);
    }
  }

  /** How many entries it holds. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets `key`: its next caller loads it, and no load that started before now is cached. */
  delete(key: string): void {
    this.entries.delete(key);
    if (this.forgotten.size >= 1_000) this.forgotten.delete(this.forgotten.keys().next().value!);
    this.forgotten.set(key, this.now());
  }
}
