/**
 * A per-isolate cache whose entries are renewed before they expire, by one caller at a time.
 * An entry younger than `refreshAfterMs` is served; from that age on, the first caller loads it
 * anew while the others keep being served the cached value until it is `maxAgeMs` old, so a hot
 * key is renewed by one load instead of every request in flight loading it at once when it
 * expires. Callers never await another caller's load: workerd cancels what a request's promise
 * leads to when that request ends, so sharing one load across requests could hang the others.
 */
export class RefreshingCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; loading: boolean }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly refreshAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value, or the loaded one (`fresh`: always load). */
  async get(key: string, load: () => Promise<V>, fresh = false): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && !fresh) {
      const age = this.now() - hit.at;
      if (age < this.refreshAfterMs || (age < this.maxAgeMs && hit.loading)) return hit.value;
      hit.loading = true;
    }
    try {
      const value = await load();
      this.set(key, value);
      return value;
    } finally {
      // A failed load lets the next caller try; the entry is otherwise unchanged.
      if (hit) hit.loading = false;
    }
  }

  set(key: string, value: V, at = this.now()): void {
    this.entries.set(key, { value, at, loading: false });
  }
}
