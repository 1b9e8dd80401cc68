import * as codes from "./codes";
import * as layout from "./record-layout";
import { RecordBuffer } from "./record-buffer";
import { resized } from "./typed-arrays";

export * from "./record-layout";

// Module-level copies of imported values the hot path reads (see record-layout.ts).
const { OrderType } = codes;
const { F64_SHIFT, FILLED, ICEBERG_BIT, ID, META, NEXT, OCO_BIT, PREV, RECORD_SHIFT, WORDS } = layout;
const RECORD_BYTES = WORDS * 4;

/** Where an order is: a free slot (meta 0), accepted but not yet placed, resting in a level, or a pending stop. */
export const State = { FREE: 0, NEW: 1, RESTING: 2, PENDING_STOP: 3 } as const;

// `meta` packs the small per-order fields (bit offsets below; its flag bits are in record-layout.ts).
const SIDE_SHIFT = 0;
const TYPE_SHIFT = 1;
const TIF_SHIFT = 4;
const STP_SHIFT = 6;
const POST_ONLY_BIT = 1 << 8;
const BPS_BIT = 1 << 9;
const TRIGGERED_BIT = 1 << 10;
const STATE_SHIFT = 11;

export function packMeta(
  side: number,
  type: number,
  tif: number,
  stp: number,
  postOnly: boolean,
  bps: boolean,
): number {
  return (
    (side << SIDE_SHIFT) |
    (type << TYPE_SHIFT) |
    (tif << TIF_SHIFT) |
    (stp << STP_SHIFT) |
    (postOnly ? POST_ONLY_BIT : 0) |
    (bps ? BPS_BIT : 0)
  );
}
export const sideOf = (meta: number): number => (meta >> SIDE_SHIFT) & 1;
export const typeOf = (meta: number): number => (meta >> TYPE_SHIFT) & 7;
export const tifOf = (meta: number): number => (meta >> TIF_SHIFT) & 3;
export const stpOf = (meta: number): number => (meta >> STP_SHIFT) & 3;
export const isPostOnly = (meta: number): boolean => (meta & POST_ONLY_BIT) !== 0;
export const isBps = (meta: number): boolean => (meta & BPS_BIT) !== 0;
export const isTriggered = (meta: number): boolean => (meta & TRIGGERED_BIT) !== 0;
export const withTriggered = (meta: number): number => meta | TRIGGERED_BIT;
export const stateOf = (meta: number): number => (meta >> STATE_SHIFT) & 3;
export const withState = (meta: number, state: number): number =>
  (meta & ~(3 << STATE_SHIFT)) | (state << STATE_SHIFT);
/** Stop orders (stop-loss, stop-limit, trailing) are the ones whose stop columns hold values. */
export const isStopType = (meta: number): boolean => typeOf(meta) >= OrderType.STOP_LOSS;

/**
 * Orders as 64-byte records in one buffer (viewed as Int32 and Float64), indexed by slot, with a
 * free list threaded through NEXT. Random cancels on a book of 100k orders are bound by cache
 * misses: a record keeps an order's hot fields together instead of spreading them over sixteen
 * arrays. Fields only some orders use live in separate "cold" columns, written and read only when
 * `meta` says they hold a value (so a plain limit order never touches them): `peak` (ICEBERG_BIT),
 * `oco` (OCO_BIT), and `stopPrice`, `trailOffset`, `trailRef` (stop types). The cold columns are
 * allocated on first use (`useCold`), so a book without stops, icebergs or OCOs costs 64 bytes a
 * slot, and 88 with them.
 */
export class OrderPool {
  i32: Int32Array;
  f64: Float64Array;
  /** Iceberg peak size. */
  peak: Float64Array;
  /** Stop price; for trailing stops the current trigger price (0 until a reference exists). */
  stopPrice: Int32Array;
  /** Trailing offset in ticks or basis points. */
  trailOffset: Int32Array;
  /** Trailing stop: the best trade price since placement (0 until the first trade). */
  trailRef: Int32Array;
  /** Slot of the other OCO leg. */
  oco: Int32Array;
  private capacity: number;
  /** The records' memory (it grows in place once large: see RecordBuffer). */
  private readonly records: RecordBuffer;
  private freeHead = -1;
  private used = 0;

  constructor(
    capacity: number,
    private readonly limit: number,
  ) {
    this.capacity = capacity;
    this.records = new RecordBuffer(capacity * RECORD_BYTES, limit * RECORD_BYTES);
    this.i32 = this.records.int32();
    this.f64 = this.records.float64();
    this.peak = new Float64Array(0);
    this.stopPrice = new Int32Array(0);
    this.trailOffset = new Int32Array(0);
    this.trailRef = new Int32Array(0);
    this.oco = new Int32Array(0);
  }

  /** Allocates the cold columns (before the first write to one of them). */
  useCold(): void {
    if (this.peak.length === this.capacity) return;
    this.peak = resized(this.peak, this.capacity);
    this.stopPrice = resized(this.stopPrice, this.capacity);
    this.trailOffset = resized(this.trailOffset, this.capacity);
    this.trailRef = resized(this.trailRef, this.capacity);
    this.oco = resized(this.oco, this.capacity);
  }

  /**
   * A slot with FILLED 0 and PREV/NEXT -1 (the other fields are the caller's to set); the caller
   * guarantees fewer than `limit` slots are in use. The arrays may be replaced (growth).
   */
  alloc(): number {
    let slot = this.freeHead;
    const i32 = this.i32;
    if (slot !== -1) {
      this.freeHead = i32[(slot << RECORD_SHIFT) + NEXT]!;
    } else {
      if (this.used === this.capacity) this.grow();
      slot = this.used++;
    }
    const o = slot << RECORD_SHIFT;
    this.f64[(slot << F64_SHIFT) + FILLED] = 0;
    this.i32[o + PREV] = -1;
    this.i32[o + NEXT] = -1;
    return slot;
  }

  /** Bytes of records in a growable SharedArrayBuffer (see RecordBuffer), which process.memoryUsage() does not count. */
  get sharedBytes(): number {
    return this.records.sharedBytes;
  }

  /** Slots ever handed out (live or on the free list). */
  get slotsUsed(): number {
    return this.used;
  }

  // Field reads for queries, snapshots and checks (the hot path indexes the arrays itself).
  id(slot: number): number {
    return this.f64[(slot << F64_SHIFT) + ID]!;
  }
  num(slot: number, field: number): number {
    return this.f64[(slot << F64_SHIFT) + field]!;
  }
  int(slot: number, field: number): number {
    return this.i32[(slot << RECORD_SHIFT) + field]!;
  }
  meta(slot: number): number {
    return this.i32[(slot << RECORD_SHIFT) + META]!;
  }
  peakOf(slot: number): number {
    return (this.meta(slot) & ICEBERG_BIT) !== 0 ? this.peak[slot]! : 0;
  }
  ocoOf(slot: number): number {
    return (this.meta(slot) & OCO_BIT) !== 0 ? this.oco[slot]! : -1;
  }
  stopPriceOf(slot: number): number {
    return isStopType(this.meta(slot)) ? this.stopPrice[slot]! : 0;
  }
  trailOffsetOf(slot: number): number {
    return isStopType(this.meta(slot)) ? this.trailOffset[slot]! : 0;
  }
  trailRefOf(slot: number): number {
    return isStopType(this.meta(slot)) ? this.trailRef[slot]! : 0;
  }

  /** Links slots `a` and `b` as the two legs of an OCO. */
  linkOco(a: number, b: number): void {
    this.useCold();
    this.oco[a] = b;
    this.oco[b] = a;
    this.i32[(a << RECORD_SHIFT) + META]! |= OCO_BIT;
    this.i32[(b << RECORD_SHIFT) + META]! |= OCO_BIT;
  }

  /** Unlinks an OCO leg from its sibling (both stop being OCO legs). */
  unlinkOco(a: number, b: number): void {
    this.i32[(a << RECORD_SHIFT) + META]! &= ~OCO_BIT;
    this.i32[(b << RECORD_SHIFT) + META]! &= ~OCO_BIT;
  }

  /** Length of the free list (for the invariant checks; O(free slots)). */
  countFree(): number {
    let n = 0;
    for (let s = this.freeHead; s !== -1; s = this.int(s, NEXT)) {
      if (++n > this.used) throw new Error("order pool: the free list loops");
    }
    return n;
  }

  free(slot: number): void {
    const o = slot << RECORD_SHIFT;
    this.i32[o + META] = 0;
    this.i32[o + NEXT] = this.freeHead;
    this.freeHead = slot;
  }

  /**
   * Grows the arrays to at least `capacity` slots (up to `limit`) at once, before a restore. The
   * restore writes every one of those records at once, so the new memory is not written first
   * (a second pass over the 64 MB of a million-order book).
   */
  reserve(capacity: number): void {
    if (capacity > this.capacity) this.grow(Math.min(capacity, this.limit), false);
  }

  /** Grows by half (at least 16 slots) up to `limit`: less slack than doubling, and growth stays amortized O(1). */
  private grow(to = 0, prefault = true): void {
    const length = this.capacity;
    const n = Math.max(to, Math.min(length + Math.max(16, length >> 1), this.limit));
    this.records.grow(n * RECORD_BYTES, prefault);
    this.i32 = this.records.int32();
    this.f64 = this.records.float64();
    const cold = this.peak.length !== 0;
    this.capacity = n;
    if (cold) this.useCold();
  }
}
