import { DoneReason, EventKind, type EventKindCode } from "./codes";
import { resized } from "./typed-arrays";
import type { SideName } from "./types";

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

const SIDE_NAMES: readonly SideName[] = ["buy", "sell"];
const DONE_NAMES = ["", "filled", "cancelled", "expired"] as const;

/**
 * Events of the commands applied since the last `clear()`, as parallel typed arrays so that
 * emitting an event allocates nothing. Field meaning per kind is in README.md ("Event layout").
 */
export class EventBuffer {
  count = 0;
  kind: Uint8Array;
  seq: Float64Array;
  orderId: Float64Array;
  userId: Float64Array;
  otherOrderId: Float64Array;
  otherUserId: Float64Array;
  price: Int32Array;
  quantity: Float64Array;
  quantity2: Float64Array;
  code: Int32Array;
  /** Sequence number the next event gets; monotonic over the engine's life (snapshotted). */
  nextSeq = 1;

  constructor(capacity = 64) {
    this.kind = new Uint8Array(capacity);
    this.seq = new Float64Array(capacity);
    this.orderId = new Float64Array(capacity);
    this.userId = new Float64Array(capacity);
    this.otherOrderId = new Float64Array(capacity);
    this.otherUserId = new Float64Array(capacity);
    this.price = new Int32Array(capacity);
    this.quantity = new Float64Array(capacity);
    this.quantity2 = new Float64Array(capacity);
    this.code = new Int32Array(capacity);
  }

  clear(): void {
    this.count = 0;
  }

  /** Calls `fn(buffer, index)` for every pending event in order, then clears. */
  drainTo(fn: (events: EventBuffer, index: number) => void): void {
    for (let i = 0; i < this.count; i++) fn(this, i);
    this.count = 0;
  }

  /** Appends an event; fields not used by `kind` are zeroed so stale values never leak. */
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
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.seq[i] = this.nextSeq++;
    this.orderId[i] = orderId;
    this.userId[i] = userId;
    this.otherOrderId[i] = otherOrderId;
    this.otherUserId[i] = otherUserId;
    this.price[i] = price;
    this.quantity[i] = quantity;
    this.quantity2[i] = quantity2;
    this.code[i] = code;
  }

  toObject(i: number): EngineEvent {
    const seq = this.seq[i]!;
    const orderId = this.orderId[i]!;
    const userId = this.userId[i]!;
    const code = this.code[i]!;
    switch (this.kind[i]) {
      case EventKind.ACCEPTED:
        return {
          type: "accepted",
          seq,
          orderId,
          userId,
          side: SIDE_NAMES[code]!,
          price: this.price[i]!,
          quantity: this.quantity[i]!,
          quoteQuantity: this.quantity2[i]!,
        };
      case EventKind.REJECTED:
        return { type: "rejected", seq, orderId, userId, reason: code };
      case EventKind.TRADE:
        return {
          type: "trade",
          seq,
          takerOrderId: orderId,
          takerUserId: userId,
          makerOrderId: this.otherOrderId[i]!,
          makerUserId: this.otherUserId[i]!,
          price: this.price[i]!,
          quantity: this.quantity[i]!,
          takerSide: SIDE_NAMES[code]!,
        };
      case EventKind.ORDER_DONE:
        return {
          type: "done",
          seq,
          orderId,
          userId,
          reason: DONE_NAMES[code as (typeof DoneReason)[keyof typeof DoneReason]],
          remaining: this.quantity[i]!,
          filled: this.quantity2[i]!,
        };
      case EventKind.LEVEL:
        return {
          type: "level",
          seq,
          side: SIDE_NAMES[code]!,
          price: this.price[i]!,
          quantity: this.quantity[i]!,
        };
      case EventKind.AMENDED:
        return {
          type: "amended",
          seq,
          orderId,
          userId,
          price: this.price[i]!,
          quantity: this.quantity[i]!,
          remaining: this.quantity2[i]!,
        };
      default:
        return { type: "triggered", seq, orderId, userId, price: this.price[i]! };
    }
  }

  /** Plain-object copies of the pending events (allocates). */
  toArray(): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.toObject(i));
    return out;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    this.kind = resized(this.kind, n);
    this.seq = resized(this.seq, n);
    this.orderId = resized(this.orderId, n);
    this.userId = resized(this.userId, n);
    this.otherOrderId = resized(this.otherOrderId, n);
    this.otherUserId = resized(this.otherUserId, n);
    this.price = resized(this.price, n);
    this.quantity = resized(this.quantity, n);
    this.quantity2 = resized(this.quantity2, n);
    this.code = resized(this.code, n);
  }
}
