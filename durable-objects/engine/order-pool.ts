import { resized } from "./typed-arrays";

/** Where an order is: a free slot (meta 0), accepted but not yet placed, resting in a level, or a pending stop. */
export const State = { FREE: 0, NEW: 1, RESTING: 2, PENDING_STOP: 3 } as const;

// `meta` packs the small per-order fields into 13 bits of one Uint16 (bit offsets below).
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

/**
 * Orders as parallel typed arrays indexed by slot, with a free list threaded through `next`.
 * `prev`/`next` link a resting order into its level's FIFO, or a pending stop into the stop
 * list; `userPrev`/`userNext` link it into its user's open orders. Quantities are integers
 * stored in Float64Array (exact below 2^53). 82 bytes per slot.
 */
export class OrderPool {
  id: Float64Array;
  /** The order's user record in UserOrders (not the user id: see `UserOrders.idOf`). */
  user: Int32Array;
  /** Total ordered quantity (changed by amend); remaining = quantity - filled. */
  quantity: Float64Array;
  filled: Float64Array;
  /** Quantity displayed in the book: the remaining quantity, or an iceberg's current slice. */
  shown: Float64Array;
  /** Iceberg peak size, 0 for ordinary orders. */
  peak: Float64Array;
  price: Int32Array;
  /** Stop price; for trailing stops the current trigger price (0 until a reference exists). */
  stopPrice: Int32Array;
  /** Trailing offset in ticks or basis points. */
  trailOffset: Int32Array;
  /** Trailing stop: the best trade price since placement (0 until the first trade). */
  trailRef: Int32Array;
  /** Slot of the other OCO leg, or -1. */
  oco: Int32Array;
  prev: Int32Array;
  next: Int32Array;
  userPrev: Int32Array;
  userNext: Int32Array;
  meta: Uint16Array;
  private freeHead = -1;
  private used = 0;

  constructor(
    capacity: number,
    private readonly limit: number,
  ) {
    this.id = new Float64Array(capacity);
    this.user = new Int32Array(capacity);
    this.quantity = new Float64Array(capacity);
    this.filled = new Float64Array(capacity);
    this.shown = new Float64Array(capacity);
    this.peak = new Float64Array(capacity);
    this.price = new Int32Array(capacity);
    this.stopPrice = new Int32Array(capacity);
    this.trailOffset = new Int32Array(capacity);
    this.trailRef = new Int32Array(capacity);
    this.oco = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.userPrev = new Int32Array(capacity);
    this.userNext = new Int32Array(capacity);
    this.meta = new Uint16Array(capacity);
  }

  /** A cleared slot; the caller guarantees fewer than `limit` slots are in use. */
  alloc(): number {
    let slot = this.freeHead;
    if (slot !== -1) {
      this.freeHead = this.next[slot]!;
    } else {
      if (this.used === this.id.length) this.grow();
      slot = this.used++;
    }
    this.filled[slot] = 0;
    this.peak[slot] = 0;
    this.stopPrice[slot] = 0;
    this.trailOffset[slot] = 0;
    this.trailRef[slot] = 0;
    this.oco[slot] = -1;
    this.prev[slot] = -1;
    this.next[slot] = -1;
    return slot;
  }

  /** Slots ever handed out (live or on the free list). */
  get slotsUsed(): number {
    return this.used;
  }

  /** Length of the free list (for the invariant checks; O(free slots)). */
  countFree(): number {
    let n = 0;
    for (let s = this.freeHead; s !== -1; s = this.next[s]!) {
      if (++n > this.used) throw new Error("order pool: the free list loops");
    }
    return n;
  }

  free(slot: number): void {
    this.meta[slot] = 0;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
  }

  /** Grows the arrays to at least `capacity` slots (up to `limit`) at once, e.g. before a restore. */
  reserve(capacity: number): void {
    if (capacity > this.id.length) this.grow(Math.min(capacity, this.limit));
  }

  /** Grows by half (at least 16 slots) up to `limit`: less slack than doubling, and growth stays amortized O(1). */
  private grow(to = 0): void {
    const length = this.id.length;
    const n = Math.max(to, Math.min(length + Math.max(16, length >> 1), this.limit));
    this.id = resized(this.id, n);
    this.user = resized(this.user, n);
    this.quantity = resized(this.quantity, n);
    this.filled = resized(this.filled, n);
    this.shown = resized(this.shown, n);
    this.peak = resized(this.peak, n);
    this.price = resized(this.price, n);
    this.stopPrice = resized(this.stopPrice, n);
    this.trailOffset = resized(this.trailOffset, n);
    this.trailRef = resized(this.trailRef, n);
    this.oco = resized(this.oco, n);
    this.prev = resized(this.prev, n);
    this.next = resized(this.next, n);
    this.userPrev = resized(this.userPrev, n);
    this.userNext = resized(this.userNext, n);
    this.meta = resized(this.meta, n);
  }
}
