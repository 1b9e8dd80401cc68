import { resized } from "./typed-arrays";

/** Entries per block: a block insert or removal moves at most this many keys. */
const BLOCK = 64;
/** A block this short merges into a neighbour when both fit in half a block. */
const MERGE_BELOW = BLOCK >> 2;

/**
 * The levels of one side that lie outside the dense window, as a sorted set of integer keys
 * (price for bids, −price for asks), each with a level record. Sorted ascending, so the best
 * level is always the last key: the window pushes demoted levels and pops promoted ones at
 * that end in O(1), and a sweep consumes it there too.
 *
 * A two-level B-tree in typed arrays: keys sit in blocks of up to 64, and `order`/`low` list
 * the blocks in key order with their smallest keys, so a lookup is a binary search over the
 * blocks then within one, and an insert or removal moves at most one block's entries (plus,
 * when a block splits, merges or empties, the block list: 8 bytes a block). Blocks stay at
 * least a quarter full on average (short neighbours merge), so a level costs 8 to 32 bytes.
 */
export class FarLevels {
  /** Keys and level records; block b owns entries [b × BLOCK, b × BLOCK + len[b]). */
  private keys = new Int32Array(BLOCK * 4);
  private vals = new Int32Array(BLOCK * 4);
  private len = new Int32Array(4);
  /** Blocks in key order and the smallest key of each; `blocks` of them are in use. */
  private order = new Int32Array(4);
  private low = new Int32Array(4);
  private blocks = 0;
  /** Unused block ids (a stack of `spare` entries). */
  private free = new Int32Array(4);
  private spare = 0;
  private allocated = 0;
  /** Number of keys. */
  size = 0;
  /**
   * Where the last `find` of an absent key stopped (its block's position and entry index), valid
   * while `version` (bumped by every change) is `missVersion`: a new level is looked up, then
   * inserted, and the insert reuses the search.
   */
  private missKey = 0;
  private missBlock = 0;
  private missEntry = 0;
  private missVersion = -1;
  private version = 0;

  /** The largest key (the best level); only when `size` > 0. */
  lastKey(): number {
    const b = this.order[this.blocks - 1]!;
    return this.keys[b * BLOCK + this.len[b]! - 1]!;
  }

  /** Removes the largest key and returns its level record; only when `size` > 0. */
  popLast(): number {
    this.version++;
    const p = this.blocks - 1;
    const b = this.order[p]!;
    const at = b * BLOCK + --this.len[b]!;
    if (this.len[b] === 0) this.dropBlock(p);
    this.size--;
    return this.vals[at]!;
  }

  /** The level record of `key`, or -1. */
  find(key: number): number {
    if (this.size === 0) return -1;
    const p = this.blockOf(key);
    const b = this.order[p]!;
    const j = this.indexIn(b, key);
    if (j < b * BLOCK + this.len[b]! && this.keys[j] === key) return this.vals[j]!;
    this.missKey = key;
    this.missBlock = p;
    this.missEntry = j;
    this.missVersion = this.version;
    return -1;
  }

  /** The largest key below `key` (present or not), or 0 (never a key: prices are ≥ 1). */
  before(key: number): number {
    if (this.size === 0) return 0;
    let p = this.blockOf(key);
    const b = this.order[p]!;
    const j = this.indexIn(b, key);
    if (j > b * BLOCK) return this.keys[j - 1]!;
    if (--p < 0) return 0;
    const a = this.order[p]!;
    return this.keys[a * BLOCK + this.len[a]! - 1]!;
  }

  /** Adds `key` (absent) with its level record. */
  insert(key: number, val: number): void {
    const hinted = this.missVersion === this.version && this.missKey === key;
    this.version++;
    if (this.blocks === 0) this.addBlock(0);
    let p = hinted ? this.missBlock : this.blockOf(key);
    let b = this.order[p]!;
    let j = hinted ? this.missEntry : -1;
    if (this.len[b] === BLOCK) {
      j = -1;
      const last = this.keys[b * BLOCK + BLOCK - 1]!;
      if (key > last && p === this.blocks - 1) {
        // Appending past the end (a demotion, or a new worst-to-best run): a fresh block stays dense.
        b = this.addBlock(++p);
      } else {
        this.split(p);
        if (key >= this.low[p + 1]!) b = this.order[++p]!;
      }
    }
    const start = b * BLOCK;
    const end = start + this.len[b]!;
    if (j === -1) j = this.indexIn(b, key);
    this.keys.copyWithin(j + 1, j, end);
    this.vals.copyWithin(j + 1, j, end);
    this.keys[j] = key;
    this.vals[j] = val;
    this.len[b]!++;
    if (j === start) this.low[p] = key;
    this.size++;
  }

  /** Removes `key` (present). */
  remove(key: number): void {
    this.version++;
    const p = this.blockOf(key);
    const b = this.order[p]!;
    const start = b * BLOCK;
    const end = start + this.len[b]!;
    const j = this.indexIn(b, key);
    this.keys.copyWithin(j, j + 1, end);
    this.vals.copyWithin(j, j + 1, end);
    this.size--;
    if (--this.len[b]! === 0) {
      this.dropBlock(p);
      return;
    }
    if (j === start) this.low[p] = this.keys[start]!;
    if (this.len[b]! < MERGE_BELOW) this.mergeAround(p);
  }

  /** Calls `visit(key, record)` for every key in ascending order (queries and checks, not the hot path). */
  forEach(visit: (key: number, val: number) => void): void {
    for (let p = 0; p < this.blocks; p++) {
      const b = this.order[p]!;
      for (let j = b * BLOCK, end = j + this.len[b]!; j < end; j++) visit(this.keys[j]!, this.vals[j]!);
    }
  }

  /** Throws on the first broken invariant of the block structure (see validateInternalState). */
  validate(): void {
    let count = 0;
    let previous = -Infinity;
    for (let p = 0; p < this.blocks; p++) {
      const b = this.order[p]!;
      const n = this.len[b]!;
      if (n < 1 || n > BLOCK) throw new Error(`far levels: block ${b} holds ${n} keys`);
      if (this.low[p] !== this.keys[b * BLOCK]) throw new Error(`far levels: block ${b} has a stale low key`);
      for (let j = b * BLOCK; j < b * BLOCK + n; j++) {
        if (!(this.keys[j]! > previous)) throw new Error(`far levels: key ${this.keys[j]} out of order`);
        previous = this.keys[j]!;
      }
      count += n;
    }
    if (count !== this.size) throw new Error(`far levels: size ${this.size} but ${count} keys`);
    if (this.blocks + this.spare !== this.allocated) throw new Error("far levels: a block is lost");
  }

  /**
   * Position in `order` of the block that holds or would hold `key` (blocks > 0): the last
   * block whose smallest key is ≤ `key`, else the first. Both searches are branch-free (a
   * fixed number of halvings, the comparison as a sign mask): a far level's key is anywhere,
   * so a comparison branch would be mispredicted half the time, about three times slower.
   * The sign of `key − x` is exact because a set's keys share one sign (prices ≥ 1, or their
   * negatives), so any two differ by less than 2^31.
   */
  private blockOf(key: number): number {
    const low = this.low;
    let at = 0;
    for (let n = this.blocks; n > 1;) {
      const half = n >> 1;
      at += half & ~((key - low[at + half]!) >> 31);
      n -= half;
    }
    return at;
  }

  /** Index of the first entry of block `b` that is ≥ `key` (its end if none). */
  private indexIn(b: number, key: number): number {
    const keys = this.keys;
    let at = b * BLOCK;
    let n = this.len[b]!;
    if (n === 0) return at;
    for (; n > 1; n -= n >> 1) at += (n >> 1) & ((keys[at + (n >> 1)]! - key) >> 31);
    return at + ((keys[at]! - key) >>> 31);
  }

  /** Moves the upper half of the full block at position `p` into a new block after it. */
  private split(p: number): void {
    const b = this.order[p]!;
    const nb = this.addBlock(p + 1);
    const half = BLOCK >> 1;
    const from = b * BLOCK + half;
    this.keys.copyWithin(nb * BLOCK, from, from + half);
    this.vals.copyWithin(nb * BLOCK, from, from + half);
    this.len[b] = half;
    this.len[nb] = half;
    this.low[p + 1] = this.keys[nb * BLOCK]!;
  }

  /** Merges the short block at position `p` with a neighbour when together they fit in half a block. */
  private mergeAround(p: number): void {
    const q = p + 1 < this.blocks ? p + 1 : p - 1;
    if (q < 0) return;
    const [left, right] = q > p ? [p, q] : [q, p];
    const a = this.order[left]!;
    const b = this.order[right]!;
    if (this.len[a]! + this.len[b]! > BLOCK >> 1) return;
    const to = a * BLOCK + this.len[a]!;
    this.keys.copyWithin(to, b * BLOCK, b * BLOCK + this.len[b]!);
    this.vals.copyWithin(to, b * BLOCK, b * BLOCK + this.len[b]!);
    this.len[a]! += this.len[b]!;
    this.dropBlock(right);
  }

  /** Inserts an empty block at position `p` of the block list; returns its id. */
  private addBlock(p: number): number {
    if (this.spare === 0) this.growBlocks();
    const b = this.free[--this.spare]!;
    this.len[b] = 0;
    this.order.copyWithin(p + 1, p, this.blocks);
    this.low.copyWithin(p + 1, p, this.blocks);
    this.order[p] = b;
    this.blocks++;
    return b;
  }

  /** Unlinks the block at position `p` from the block list and frees it. */
  private dropBlock(p: number): void {
    const b = this.order[p]!;
    this.order.copyWithin(p, p + 1, this.blocks);
    this.low.copyWithin(p, p + 1, this.blocks);
    this.blocks--;
    this.free[this.spare++] = b;
  }

  /** Grows block storage by half (at least 4 blocks); new block ids go on the free stack. */
  private growBlocks(): void {
    const n = this.allocated + Math.max(4, this.allocated >> 1);
    if (n > this.len.length) {
      this.keys = resized(this.keys, n * BLOCK);
      this.vals = resized(this.vals, n * BLOCK);
      this.len = resized(this.len, n);
      this.order = resized(this.order, n);
      this.low = resized(this.low, n);
      this.free = resized(this.free, n);
    }
    for (let b = n - 1; b >= this.allocated; b--) this.free[this.spare++] = b;
    this.allocated = n;
  }
}
