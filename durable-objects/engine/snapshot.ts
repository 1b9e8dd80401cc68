import type { ResolvedConfig } from "./matching-engine";

/** Everything a restored engine needs, in canonical order (independent of slot layout). */
export interface EngineState {
  config: ResolvedConfig;
  nextSeq: number;
  lastPrice: number;
  /** Grouped by user id ascending, each user's orders in acceptance order. */
  orders: OrderRecord[];
  /** Order ids per level, best level first, FIFO within a level. */
  bids: number[][];
  asks: number[][];
  /** Pending stop order ids in acceptance order. */
  stops: number[];
}

export interface OrderRecord {
  orderId: number;
  userId: number;
  meta: number;
  price: number;
  stopPrice: number;
  trailOffset: number;
  trailRef: number;
  quantity: number;
  filled: number;
  shown: number;
  peak: number;
  ocoOrderId: number;
}

const MAGIC = 0x50454e47; // "PENG"
const VERSION = 2;
const ORDER_FIELDS = [
  "orderId",
  "userId",
  "meta",
  "price",
  "stopPrice",
  "trailOffset",
  "trailRef",
  "quantity",
  "filled",
  "shown",
  "peak",
  "ocoOrderId",
] as const;
const CONFIG_FIELDS = ["maxOrders", "maxPrice", "maxQuantity", "priceBandTicks", "initialOrders"] as const;
/** Version 1 had a sixth config field, maxLevelSpan, before initialOrders; levels are no longer bounded, so it is read and dropped. */
const V1_CONFIG_FIELDS = [
  "maxOrders",
  "maxPrice",
  "maxQuantity",
  "priceBandTicks",
  "maxLevelSpan",
  "initialOrders",
] as const;

/** Unsigned LEB128 varints of non-negative safe integers: small ids and sizes take 1-3 bytes. */
class Writer {
  private bytes = new Uint8Array(256);
  private length = 0;

  uint(v: number): void {
    if (this.length + 8 > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  list(values: readonly number[]): void {
    this.uint(values.length);
    for (const v of values) this.uint(v);
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

class Reader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new RangeError("truncated engine snapshot");
      const b = this.bytes[this.offset++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  }

  list(): number[] {
    return Array.from({ length: this.uint() }, () => this.uint());
  }
}

/**
 * Layout (all varints): magic, version 2, the five config fields, nextSeq, lastPrice, order
 * count and each order's twelve fields (ORDER_FIELDS order), bid level count and each
 * level's id list, the same for asks, then the stop id list. Lists are length-prefixed.
 */
export function encodeSnapshot(state: EngineState): Uint8Array {
  const w = new Writer();
  w.uint(MAGIC);
  w.uint(VERSION);
  for (const field of CONFIG_FIELDS) w.uint(state.config[field]);
  w.uint(state.nextSeq);
  w.uint(state.lastPrice);
  w.uint(state.orders.length);
  for (const order of state.orders) for (const field of ORDER_FIELDS) w.uint(order[field]);
  for (const side of [state.bids, state.asks]) {
    w.uint(side.length);
    for (const level of side) w.list(level);
  }
  w.list(state.stops);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array): EngineState {
  const r = new Reader(bytes);
  if (r.uint() !== MAGIC) throw new RangeError("not an engine snapshot");
  const version = r.uint();
  if (version !== VERSION && version !== 1)
    throw new RangeError(`unknown engine snapshot version ${version}`);
  const config = {} as ResolvedConfig;
  for (const field of version === 1 ? V1_CONFIG_FIELDS : CONFIG_FIELDS) {
    const value = r.uint();
    if (field !== "maxLevelSpan") config[field] = value;
  }
  const nextSeq = r.uint();
  const lastPrice = r.uint();
  const orders = Array.from({ length: r.uint() }, () => {
    const order = {} as OrderRecord;
    for (const field of ORDER_FIELDS) order[field] = r.uint();
    return order;
  });
  const [bids, asks] = [0, 1].map(() => Array.from({ length: r.uint() }, () => r.list()));
  return { config, nextSeq, lastPrice, orders, bids: bids!, asks: asks!, stops: r.list() };
}

/** 64-bit FNV-1a over `bytes` as 16 hex digits, computed in four 16-bit limbs (no BigInt). */
export function fnv1a64(bytes: Uint8Array): string {
  // offset basis 0xcbf29ce484222325, prime 0x100000001b3 = 2^40 + 0x1b3
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i]!;
    // h * prime = h * 0x1b3 + (h << 40); the shift moves limbs 0,1 up to limbs 2,3 (<< 8 within).
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + (h0 << 8);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((limb) => limb.toString(16).padStart(4, "0")).join("");
}
