import * as codes from "./codes";
import type { EventKindCode } from "./codes";
import { resized } from "./typed-arrays";
import type { SideName } from "./types";

// Module-level copies of imported values the hot path reads: V8 folds a module's own constants
// into compiled code but loads and checks an imported binding at each use (see matching-engine.ts).
const { EventKind, SIDE_NAMES } = codes;

/** A plain-object copy of one event, for tests, logs and journals (allocates; not for hot paths). */
export type EngineEvent =
  | {
      type: "accepted";
      seq: number;
      orderId: number;
      userId: number;
      side: SideName;
      price: number;
      quantity: number;
      quoteQuantity: number;
    }
  | { type: "rejected"; seq: number; orderId: number; userId: number; reason: number }
  | {
      type: "trade";
      seq: number;
      takerOrderId: number;
      takerUserId: number;
      makerOrderId: number;
      makerUserId: number;
      price: number;
      quantity: number;
      takerSide: SideName;
    }
  | {
      type: "done";
      seq: number;
      orderId: number;
      userId: number;
      reason: "filled" | "cancelled" | "expired";
      remaining: number;
      filled: number;
    }
  | { type: "level"; seq: number; side: SideName; price: number; quantity: number }
  | {
      type: "amended";
      seq: number;
      orderId: number;
      userId: number;
      price: number;
      quantity: number;
      remaining: number;
    }
  | { type: "triggered"; seq: number; orderId: number; userId: number; price: number };

const DONE_NAMES = ["", "filled", "cancelled", "expired"] as const;

// An event is a 64-byte record (one cache line): six Float64 fields, then price, code and kind
// as Int32 words. One record per event instead of one array per field: emitting an event writes
// one line through one array, which the thin book (several events per command) feels.
const EVENT_SHIFT = 3;
const E_ORDER = 0;
const E_USER = 1;
const E_OTHER_ORDER = 2;
const E_OTHER_USER = 3;
const E_QUANTITY = 4;
const E_QUANTITY2 = 5;
// Int32 words, at i32[(i << 4) + field]:
const E_PRICE = 12;
const E_CODE = 13;
const E_KIND = 14;

/**
 * Events of the commands applied since the last `clear()`, as records in one buffer, so that
 * emitting an event allocates nothing. Field meaning per kind is in README.md ("Events"); read
 * them with the accessors (`kind(i)`, `price(i)`, ...). Sequence numbers are not stored: event
 * i's is `firstSeq + i`, since every event takes the next one.
 */
export class EventBuffer {
  count = 0;
  /** Sequence number of event 0. */
  private firstSeq = 1;
  private f64: Float64Array;
  private i32: Int32Array;

  constructor(capacity = 64) {
    this.f64 = new Float64Array(capacity << EVENT_SHIFT);
    this.i32 = new Int32Array(this.f64.buffer);
  }

  /** Sequence number the next event gets; monotonic over the engine's life (snapshotted). */
  get nextSeq(): number {
    return this.firstSeq + this.count;
  }
  set nextSeq(seq: number) {
    this.firstSeq = seq - this.count;
  }

  clear(): void {
    this.firstSeq += this.count;
    this.count = 0;
  }

  /** Calls `fn(buffer, index)` for every pending event in order, then clears. */
  drainTo(fn: (events: EventBuffer, index: number) => void): void {
    for (let i = 0; i < this.count; i++) fn(this, i);
    this.clear();
  }

  kind(i: number): EventKindCode {
    return this.i32[(i << 4) + E_KIND]! as EventKindCode;
  }
  seq(i: number): number {
    return this.firstSeq + i;
  }
  orderId(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_ORDER]!;
  }
  userId(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_USER]!;
  }
  otherOrderId(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_OTHER_ORDER]!;
  }
  otherUserId(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_OTHER_USER]!;
  }
  price(i: number): number {
    return this.i32[(i << 4) + E_PRICE]!;
  }
  quantity(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_QUANTITY]!;
  }
  quantity2(i: number): number {
    return this.f64[(i << EVENT_SHIFT) + E_QUANTITY2]!;
  }
  code(i: number): number {
    return this.i32[(i << 4) + E_CODE]!;
  }

  /**
   * Appends an event of any kind, every field written (unused ones 0). The frequent kinds have
   * their own writers below, which write only their kind's fields: a field a kind does not use
   * (blank in README.md's table) holds no meaning, and the accessors and `toObject` never read
   * it for that kind. Fewer stores, and smaller writers that the compiler inlines into matching.
   */
  push(
    kind: EventKindCode,
    orderId: number,
    userId: number,
    otherOrderId: number,
    otherUserId: number,
    price: number,
    quantity: number,
    quantity2: number,
    code: number,
  ): void {
    const i = this.start(kind, orderId, userId, code);
    const f64 = this.f64;
    const d = i << EVENT_SHIFT;
    f64[d + E_OTHER_ORDER] = otherOrderId;
    f64[d + E_OTHER_USER] = otherUserId;
    f64[d + E_QUANTITY] = quantity;
    f64[d + E_QUANTITY2] = quantity2;
    this.i32[(i << 4) + E_PRICE] = price;
  }

  /** A LEVEL event: `side`'s level at `price` now shows `quantity` (0: gone). */
  level(side: number, price: number, quantity: number): void {
    const i = this.next();
    this.f64[(i << EVENT_SHIFT) + E_QUANTITY] = quantity;
    const i32 = this.i32;
    const o = i << 4;
    i32[o + E_PRICE] = price;
    i32[o + E_CODE] = side;
    i32[o + E_KIND] = EventKind.LEVEL;
  }

  /** A TRADE event. */
  trade(
    takerId: number,
    takerUserId: number,
    makerId: number,
    makerUserId: number,
    price: number,
    quantity: number,
    takerSide: number,
  ): void {
    const i = this.start(EventKind.TRADE, takerId, takerUserId, takerSide);
    const f64 = this.f64;
    const d = i << EVENT_SHIFT;
    f64[d + E_OTHER_ORDER] = makerId;
    f64[d + E_OTHER_USER] = makerUserId;
    f64[d + E_QUANTITY] = quantity;
    this.i32[(i << 4) + E_PRICE] = price;
  }

  /** An ORDER_DONE event. */
  done(orderId: number, userId: number, remaining: number, filled: number, reason: number): void {
    const d = this.start(EventKind.ORDER_DONE, orderId, userId, reason) << EVENT_SHIFT;
    this.f64[d + E_QUANTITY] = remaining;
    this.f64[d + E_QUANTITY2] = filled;
  }

  /** An ACCEPTED event. */
  accepted(
    orderId: number,
    userId: number,
    side: number,
    price: number,
    quantity: number,
    quote: number,
  ): void {
    const i = this.start(EventKind.ACCEPTED, orderId, userId, side);
    const d = i << EVENT_SHIFT;
    this.f64[d + E_QUANTITY] = quantity;
    this.f64[d + E_QUANTITY2] = quote;
    this.i32[(i << 4) + E_PRICE] = price;
  }

  /** A new record with the fields every kind but LEVEL has; returns its index. */
  private start(kind: EventKindCode, orderId: number, userId: number, code: number): number {
    const i = this.next();
    const d = i << EVENT_SHIFT;
    this.f64[d + E_ORDER] = orderId;
    this.f64[d + E_USER] = userId;
    const o = i << 4;
    this.i32[o + E_CODE] = code;
    this.i32[o + E_KIND] = kind;
    return i;
  }

  /** The index of a new event record (growing the buffer when full). */
  private next(): number {
    if (this.count << EVENT_SHIFT === this.f64.length) this.grow();
    return this.count++;
  }

  toObject(i: number): EngineEvent {
    const seq = this.seq(i);
    const orderId = this.orderId(i);
    const userId = this.userId(i);
    const code = this.code(i);
    switch (this.kind(i)) {
      case EventKind.ACCEPTED:
        return {
          type: "accepted",
          seq,
          orderId,
          userId,
          side: SIDE_NAMES[code]!,
          price: this.price(i),
          quantity: this.quantity(i),
          quoteQuantity: this.quantity2(i),
        };
      case EventKind.REJECTED:
        return { type: "rejected", seq, orderId, userId, reason: code };
      case EventKind.TRADE:
        return {
          type: "trade",
          seq,
          takerOrderId: orderId,
          takerUserId: userId,
          makerOrderId: this.otherOrderId(i),
          makerUserId: this.otherUserId(i),
          price: this.price(i),
          quantity: this.quantity(i),
          takerSide: SIDE_NAMES[code]!,
        };
      case EventKind.ORDER_DONE:
        return {
          type: "done",
          seq,
          orderId,
          userId,
          reason: DONE_NAMES[code as (typeof codes.DoneReason)[keyof typeof codes.DoneReason]],
          remaining: this.quantity(i),
          filled: this.quantity2(i),
        };
      case EventKind.LEVEL:
        return {
          type: "level",
          seq,
          side: SIDE_NAMES[code]!,
          price: this.price(i),
          quantity: this.quantity(i),
        };
      case EventKind.AMENDED:
        return {
          type: "amended",
          seq,
          orderId,
          userId,
          price: this.price(i),
          quantity: this.quantity(i),
          remaining: this.quantity2(i),
        };
      default:
        return { type: "triggered", seq, orderId, userId, price: this.price(i) };
    }
  }

  /** Plain-object copies of the pending events (allocates). */
  toArray(): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.toObject(i));
    return out;
  }

  private grow(): void {
    this.f64 = resized(this.f64, this.f64.length * 2);
    this.i32 = new Int32Array(this.f64.buffer);
  }
}
