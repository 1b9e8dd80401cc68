import * as codes from "./codes";
import type { IdIndex } from "./id-index";
import type { ResolvedConfig } from "./matching-engine";
import * as record from "./order-pool";
import type { OrderPool } from "./order-pool";
import type { PriceLevels } from "./price-levels";
import type { UserOrders } from "./user-orders";
import type { VarintReader } from "./varint";

// Module-level copies of imported values the loops below read per order: V8 loads and checks an
// imported binding at each use (see matching-engine.ts), and under Node's ESM-to-CommonJS
// transform each read of a re-exported one (order-pool re-exports record-layout) is a getter
// call with a megamorphic keyed load: about half of a million-order restore and snapshot.
const { Side } = codes;
const {
  F64_SHIFT,
  FILLED,
  ICEBERG_BIT,
  ID,
  isStopType,
  META,
  OCO_BIT,
  PRICE,
  QUANTITY,
  RECORD_SHIFT,
  SHOWN,
  SNAPSHOT_META,
} = record;

// The canonical snapshot (README.md, "Snapshot format"): every value an unsigned varint, lists
// length-prefixed, in an order independent of slots, hash layout and level storage, so equal
// states give equal bytes. The codec streams between the engine's arrays and the bytes, with
// no per-order objects: a million-order book snapshots and restores in a fraction of a second.
// This file reads it; snapshot-encoder.ts writes it.

export const MAGIC = 0x50454e47; // "PENG"
export const VERSION = 2;
export const CONFIG_FIELDS = [
  "maxOrders",
  "maxPrice",
  "maxQuantity",
  "priceBandTicks",
  "initialOrders",
] as const;
/** Version 1 had a sixth config field, maxLevelSpan, before initialOrders; levels are no longer bounded, so it is read and dropped. */
const V1_CONFIG_FIELDS = [
  "maxOrders",
  "maxPrice",
  "maxQuantity",
  "priceBandTicks",
  "maxLevelSpan",
  "initialOrders",
] as const;
/** The engine's parts a snapshot is written from and read into. */
export interface BookStore {
  pool: OrderPool;
  ids: IdIndex;
  users: UserOrders;
  levels: PriceLevels;
}

export interface SnapshotHeader {
  /** 2, or 1 for a snapshot of the engine before far prices (it refers to orders by id). */
  version: number;
  config: ResolvedConfig;
  nextSeq: number;
  lastPrice: number;
}

/** Reads the header of a version 2 or version 1 snapshot. */
export function readHeader(r: VarintReader): SnapshotHeader {
  if (r.uint() !== MAGIC) throw new RangeError("not an engine snapshot");
  const version = r.uint();
  if (version !== VERSION && version !== 1)
    throw new RangeError(`unknown engine snapshot version ${version}`);
  const config = {} as ResolvedConfig;
  for (const field of version === 1 ? V1_CONFIG_FIELDS : CONFIG_FIELDS) {
    const value = r.uint();
    if (field !== "maxLevelSpan") config[field] = value;
  }
  return { version, config, nextSeq: r.uint(), lastPrice: r.uint() };
}

/** Order references a restore reads ahead (see readBook). */
const PREFETCH = 16;
/** Where readBook leaves the OR of its touching loads, so they are not optimized away. */
let _sink = 0;

/**
 * Reads the orders and levels after the header into a new engine's parts; returns the number
 * of live orders. The pool is empty, so the order at position i gets slot i. The caller then
 * reads the stops: a count, then `readOrderRef` each.
 */
export function readBook(r: VarintReader, version: number, book: BookStore): number {
  const { pool, ids, users, levels } = book;
  const count = r.uint();
  pool.reserve(count);
  ids.reserve(count);
  const partners: number[] = [];
  // The pool is sized for `count` above, so its arrays stay put while it is filled.
  const i32 = pool.i32;
  const f64 = pool.f64;
  // Orders come grouped by user: one user-record lookup per user, not per order.
  let lastUserId = 0;
  let user = -1;
  for (let i = 0; i < count; i++) {
    const slot = pool.alloc();
    if (slot !== i) throw new Error("engine snapshot: restore needs an empty pool");
    const o = slot << RECORD_SHIFT;
    const d = slot << F64_SHIFT;
    f64[d + ID] = r.uint();
    const userId = r.uint();
    let meta = r.uint() & SNAPSHOT_META;
    i32[o + PRICE] = r.uint();
    const stopPrice = r.uint();
    const trailOffset = r.uint();
    const trailRef = r.uint();
    f64[d + QUANTITY] = r.uint();
    f64[d + FILLED] = r.uint();
    f64[d + SHOWN] = r.uint();
    const peak = r.uint();
    const partner = r.uint();
    if (isStopType(meta)) {
      pool.useCold();
      pool.stopPrice[slot] = stopPrice;
      pool.trailOffset[slot] = trailOffset;
      pool.trailRef[slot] = trailRef;
    }
    if (peak !== 0) {
      pool.useCold();
      pool.peak[slot] = peak;
      meta |= ICEBERG_BIT;
    }
    i32[o + META] = meta;
    if (partner !== 0) partners.push(slot, partner);
    if (userId !== lastUserId) {
      user = users.recordOf(userId);
      lastUserId = userId;
    }
    users.appendTo(slot, user);
  }
  ids.insertRange(0, count, f64);
  for (let i = 0; i < partners.length; i += 2) {
    const partner = partners[i + 1]!;
    const slot = partners[i]!;
    pool.useCold();
    pool.oco[slot] = version === 1 ? ids.find(partner, f64) : partner - 1;
    i32[(slot << RECORD_SHIFT) + META]! |= OCO_BIT;
  }
  const batch = new Int32Array(PREFETCH);
  let touched = 0;
  for (const side of [Side.BUY, Side.SELL]) {
    const sideLevels = r.uint();
    // One growth for the side's level records instead of a chain of copies.
    levels.reserve(levels.count + sideLevels);
    for (let n = sideLevels; n > 0; n--) {
      let level = -1;
      for (let k = r.uint(); k > 0;) {
        // A level's orders sit anywhere in the pool (it is in user order): read a batch of
        // references and touch their records first, so the cache misses overlap.
        const m = Math.min(k, PREFETCH);
        for (let j = 0; j < m; j++) {
          const slot = readOrderRef(r, version, book);
          batch[j] = slot;
          touched |= i32[(slot << RECORD_SHIFT) + PRICE]!;
        }
        if (level === -1) level = levels.open(side, i32[(batch[0]! << RECORD_SHIFT) + PRICE]!);
        for (let j = 0; j < m; j++) levels.link(level, batch[j]!);
        k -= m;
      }
    }
  }
  _sink = touched;
  return count;
}

/** The slot of the next order reference: a position (version 2) or an order id (version 1). */
export function readOrderRef(r: VarintReader, version: number, { pool, ids }: BookStore): number {
  return version === 1 ? ids.find(r.uint(), pool.f64) : r.uint();
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
