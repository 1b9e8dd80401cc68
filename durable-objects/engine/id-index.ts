/**
 * Open-addressing hash index from an external id (a safe integer) to a pool slot. The ids live
 * in the caller's Float64Array (slot s's id at `ids[s << shift]`, so records of 2^shift numbers
 * work); a bucket is two Int32 words, the slot and the id's 32-bit hash. With the hash beside the
 * slot, a probe reads an id only when the hashes match, and deletion and rehashing read none: on
 * a book far larger than the caches, each id read is a miss in another order's record.
 * Linear probing with backward-shift deletion (no tombstones), load factor at most 1/2: 16 bytes
 * an id at most.
 */
export class IdIndex {
  /** Bucket i: slot at 2i (-1 when empty), hash at 2i + 1. */
  private table: Int32Array;
  /** Buckets − 1 (a power of two minus one). */
  private mask: number;
  private size = 0;
  /** Keeps the prefetching loads of insertRange from being optimized away. */
  private touched = 0;
  /**
   * The empty bucket where the last unsuccessful `find` stopped, for `missId`, valid while
   * `version` (bumped by every change) is `missVersion`: a place checks an id is free, then
   * inserts it, and the insert reuses the probe instead of hashing and probing again.
   */
  private missBucket = -1;
  private missId = 0;
  private missVersion = -1;
  private version = 0;
  /**
   * The bucket where the last successful `find` stopped: a cancel finds its order, then removes
   * it, and the removal starts there (checked: a slot sits in one bucket) instead of hashing and
   * probing again.
   */
  private hitBucket = 0;

  constructor(
    capacity = 1024,
    private readonly shift = 0,
  ) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.table = emptyTable(n);
    this.mask = n - 1;
  }

  /** Number of ids indexed. */
  get count(): number {
    return this.size;
  }

  /** The slot whose id is `id`, or -1. */
  find(id: number, ids: Float64Array): number {
    const table = this.table;
    const mask = this.mask;
    const h = hashId(id);
    let i = h & mask;
    for (;;) {
      const slot = table[i << 1]!;
      if (slot === -1) {
        this.missBucket = i;
        this.missId = id;
        this.missVersion = this.version;
        return -1;
      }
      if (table[(i << 1) + 1] === h && ids[slot << this.shift] === id) {
        this.hitBucket = i;
        return slot;
      }
      i = (i + 1) & mask;
    }
  }

  /** Sizes the table for `capacity` ids at once (before a restore), so inserts do not rehash. */
  reserve(capacity: number): void {
    if (this.size === 0 && capacity * 2 > this.mask + 1) {
      let n = this.mask + 1;
      while (n < capacity * 2) n *= 2;
      this.table = emptyTable(n);
      this.mask = n - 1;
      this.version++;
    }
  }

  /** Adds `slot` (whose id `ids[slot << shift]` must be absent). */
  insert(slot: number, ids: Float64Array): void {
    if (++this.size * 2 > this.mask + 1) this.rehash();
    const id = ids[slot << this.shift]!;
    if (this.missVersion === this.version && this.missId === id) {
      this.table[this.missBucket << 1] = slot;
      this.table[(this.missBucket << 1) + 1] = hashId(id);
    } else {
      this.place(slot, hashId(id));
    }
    this.version++;
  }

  /**
   * Adds slots `from` to `to` − 1 (a restore). The table is far larger than the caches, so each
   * insert waits on a miss; touching the home buckets of a batch first lets the CPU fetch them
   * in parallel, which makes a million inserts several times faster.
   */
  insertRange(from: number, to: number, ids: Float64Array): void {
    const table = this.table;
    const mask = this.mask;
    for (let start = from; start < to; start += PREFETCH) {
      const end = Math.min(to, start + PREFETCH);
      let touched = 0;
      for (let s = start; s < end; s++) touched |= table[(hashId(ids[s << this.shift]!) & mask) << 1]!;
      this.touched = touched;
      for (let s = start; s < end; s++) this.insert(s, ids);
    }
  }

  remove(slot: number, ids: Float64Array): void {
    const table = this.table;
    const mask = this.mask;
    let i = this.hitBucket & mask;
    if (table[i << 1] !== slot) {
      i = hashId(ids[slot << this.shift]!) & mask;
      while (table[i << 1] !== slot) i = (i + 1) & mask;
    }
    // Backward shift: pull later entries of the probe run into the hole when that keeps them reachable.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const moved = table[j << 1]!;
      if (moved === -1) break;
      const home = table[(j << 1) + 1]! & mask;
      const reachable = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!reachable) {
        table[i << 1] = moved;
        table[(i << 1) + 1] = table[(j << 1) + 1]!;
        i = j;
      }
    }
    table[i << 1] = -1;
    this.size--;
    this.version++;
  }

  private place(slot: number, h: number): void {
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    while (table[i << 1] !== -1) i = (i + 1) & mask;
    table[i << 1] = slot;
    table[(i << 1) + 1] = h;
  }

  /** Doubles the table, re-placing every entry by its stored hash (no id is read). */
  private rehash(): void {
    this.version++;
    const old = this.table;
    const n = (this.mask + 1) * 2;
    this.table = emptyTable(n);
    this.mask = n - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== -1) this.place(old[i]!, old[i + 1]!);
  }
}

/** Inserts whose buckets insertRange touches ahead. */
const PREFETCH = 16;

/** `buckets` empty buckets (every word -1: one fill; the hash word of an empty bucket is never read). */
function emptyTable(buckets: number): Int32Array {
  return new Int32Array(buckets * 2).fill(-1);
}

/**
 * Mixes both 32-bit halves of a safe integer, except its low 3 bits: ids are usually a sequence
 * (the market object's), and ids that differ only there get adjacent buckets, one 64-byte line.
 * On a book far larger than the caches, a new order's id then lands in the line its predecessor
 * touched instead of costing a miss; any other pattern of ids still spreads over the table.
 */
function hashId(id: number): number {
  const lo = id >>> 0;
  // Ids below 2^32 (nearly all) skip the floating-point division.
  const hi = id < 4294967296 ? 0 : (id / 4294967296) >>> 0;
  let h = Math.imul((lo >>> 3) ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h << 3) | (lo & 7);
}
