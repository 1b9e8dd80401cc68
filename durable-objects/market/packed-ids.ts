import { IdIndex } from "../engine/id-index";

/**
 * A slot's record, 8 words of 32 bits: the order number as a float64 (words 0-1, where the index
 * reads it: `nums[slot << NUM_SHIFT]`), the UUID's 16 bytes in print order (words 2-5), the
 * user number (word 6), the next free slot while the slot is free (word 7).
 */
const WORDS = 8;
const NUM_SHIFT = 2;
const UUID_AT = 2;
const USER_AT = 6;
const NEXT_FREE_AT = 7;
/** Records the store starts with and never shrinks below. */
const MIN_CAPACITY = 1024;

const DASH = 0x2d;
/** Where each of the UUID's 16 bytes is printed (two hex digits each, dashes between the groups). */
const BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** The char codes of byte b's two hex digits, lowercase: high at 2b, low at 2b + 1. */
const HEX = new Uint8Array(512);
/**
 * The byte two char codes c1 c2 spell, at `(c1 << 7) | c2` (both below 128), or -1. Lowercase
 * only: an uppercase id would print back changed.
 */
const PAIR = new Int16Array(128 * 128).fill(-1);
for (let b = 0; b < 256; b++) {
  const digits = b.toString(16).padStart(2, "0");
  HEX[2 * b] = digits.charCodeAt(0);
  HEX[2 * b + 1] = digits.charCodeAt(1);
  PAIR[(HEX[2 * b]! << 7) | HEX[2 * b + 1]!] = b;
}
/** The 36 char codes of the id being printed (the dashes never change). */
const codes = new Array<number>(36).fill(DASH);
/** The id being added, parsed: four words of four bytes, the first byte in the high bits. */
const parsed = new Uint32Array(4);

/** Byte `at` of a canonical UUID string (`at` a BYTE_AT position), or -1 if not two lowercase hex digits. */
function byteAt(id: string, at: number): number {
  const c1 = id.charCodeAt(at);
  const c2 = id.charCodeAt(at + 1);
  return (c1 | c2) < 128 ? PAIR[(c1 << 7) | c2]! : -1;
}

/**
 * Live orders' UUID ids and user numbers by engine order number, in one buffer of 32-byte
 * records and an IdIndex (the engine's) over them: no string and no object per order for the
 * major GC to mark, where a holder object and a 36-char string cost ~94 B and two marked objects
 * each. Only lowercase canonical UUIDs are stored (they print back byte-exact); `add` refuses
 * anything else. Freed slots are reused; the buffer doubles when full and shrinks after a drain.
 */
export class PackedIds {
  private cap = MIN_CAPACITY;
  private nums = new Float64Array(MIN_CAPACITY << NUM_SHIFT);
  private words = new Uint32Array(this.nums.buffer);
  private index = new IdIndex(MIN_CAPACITY, NUM_SHIFT);
  /** Slots below `next` were used once; free ones are chained through their word 7 from `free` (-1: none). */
  private next = 0;
  private free = -1;
  private size = 0;

  /** Orders stored. */
  get count(): number {
    return this.size;
  }

  /**
   * Stores order `num`'s id and user (replacing what `num` had) if the id is a lowercase
   * canonical UUID; otherwise stores nothing and answers false.
   */
  add(num: number, id: string, user: number): boolean {
    if (id.length !== 36) return false;
    if ((id.charCodeAt(8) ^ DASH) | (id.charCodeAt(13) ^ DASH) | (id.charCodeAt(18) ^ DASH)) return false;
    if (id.charCodeAt(23) !== DASH) return false;
    // A -1 (not two lowercase hex digits) anywhere makes `bad` negative.
    let bad = 0;
    for (let k = 0; k < 4; k++) {
      const b0 = byteAt(id, BYTE_AT[4 * k]!);
      const b1 = byteAt(id, BYTE_AT[4 * k + 1]!);
      const b2 = byteAt(id, BYTE_AT[4 * k + 2]!);
      const b3 = byteAt(id, BYTE_AT[4 * k + 3]!);
      bad |= b0 | b1 | b2 | b3;
      parsed[k] = (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
    }
    if (bad < 0) return false;
    let slot = this.index.find(num, this.nums);
    const fresh = slot < 0;
    if (fresh) slot = this.allocate();
    const at = slot * WORDS;
    const words = this.words;
    words[at + UUID_AT] = parsed[0]!;
    words[at + UUID_AT + 1] = parsed[1]!;
    words[at + UUID_AT + 2] = parsed[2]!;
    words[at + UUID_AT + 3] = parsed[3]!;
    words[at + USER_AT] = user;
    if (fresh) {
      this.nums[slot << NUM_SHIFT] = num;
      // Right after the failed find: the index reuses its probe.
      this.index.insert(slot, this.nums);
      this.size++;
    }
    return true;
  }

  /** Drops order `num`; false if it was not stored. */
  delete(num: number): boolean {
    const slot = this.index.find(num, this.nums);
    if (slot < 0) return false;
    this.index.remove(slot, this.nums);
    this.nums[slot << NUM_SHIFT] = NaN; // no number: skipped by `compact`
    this.words[slot * WORDS + NEXT_FREE_AT] = this.free;
    this.free = slot;
    this.size--;
    // A drained burst gives its memory back; at 1/8 full, a quarter of the records is half full,
    // so neither a grow nor another compaction follows soon (each costs O(size) once).
    if (this.size * 8 <= this.cap && this.cap > MIN_CAPACITY)
      this.compact(Math.max(MIN_CAPACITY, this.cap / 4));
    return true;
  }

  /** The slot holding order `num`, or -1: valid until the next `add` or `delete`. */
  slotOf(num: number): number {
    return this.index.find(num, this.nums);
  }

  /** The id stored in `slot`, printed (one flat string). */
  orderIdAt(slot: number): string {
    const words = this.words;
    const at = slot * WORDS + UUID_AT;
    for (let b = 0; b < 16; b++) {
      const byte = (words[at + (b >>> 2)]! >>> (24 - 8 * (b & 3))) & 0xff;
      codes[BYTE_AT[b]!] = HEX[2 * byte]!;
      codes[BYTE_AT[b]! + 1] = HEX[2 * byte + 1]!;
    }
    return String.fromCharCode.apply(null, codes);
  }

  /** The user number stored in `slot`. */
  userAt(slot: number): number {
    return this.words[slot * WORDS + USER_AT]!;
  }

  /** Records the buffer has room for. */
  get capacity(): number {
    return this.cap;
  }

  private allocate(): number {
    const slot = this.free;
    if (slot >= 0) {
      this.free = this.words[slot * WORDS + NEXT_FREE_AT]! | 0;
      return slot;
    }
    if (this.next === this.cap) this.grow();
    return this.next++;
  }

  /** Doubles the buffer (slot numbers unchanged: the index stays valid). */
  private grow(): void {
    const nums = new Float64Array((2 * this.cap) << NUM_SHIFT);
    nums.set(this.nums);
    this.nums = nums;
    this.words = new Uint32Array(nums.buffer);
    this.cap *= 2;
  }

  /** Packs the live records into slots 0..size-1 of a buffer of `capacity`, with a new index. */
  private compact(capacity: number): void {
    const nums = new Float64Array(capacity << NUM_SHIFT);
    const from = this.words;
    const to = new Uint32Array(nums.buffer);
    let live = 0;
    for (let slot = 0; slot < this.next; slot++) {
      const num = this.nums[slot << NUM_SHIFT]!;
      if (num !== num) continue; // NaN: free
      to.set(from.subarray(slot * WORDS, slot * WORDS + WORDS), live * WORDS);
      live++;
    }
    this.nums = nums;
    this.words = to;
    this.cap = capacity;
    this.next = live;
    this.free = -1;
    this.index = new IdIndex(capacity, NUM_SHIFT);
    this.index.insertRange(0, live, nums);
  }
}
