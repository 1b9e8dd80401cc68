import * as codes from "./codes";
import * as record from "./order-pool";
import { CONFIG_FIELDS, MAGIC, VERSION, type BookStore, type SnapshotHeader } from "./snapshot";
import { VarintWriter } from "./varint";

// Module-level copies of imported values the loops read per order (see snapshot.ts).
const { Side } = codes;
const {
  F64_SHIFT,
  FILLED,
  ICEBERG_BIT,
  ID,
  isStopType,
  L_HEAD,
  META,
  NEXT,
  OCO_BIT,
  PRICE,
  QUANTITY,
  RECORD_SHIFT,
  SHOWN,
  SNAPSHOT_META,
  USER_NEXT,
} = record;

/**
 * What a snapshot is written from: the order records and the heads of the lists that order
 * them (users ascending, levels best first, the stops), at one moment. `freezeBook` with `copy`
 * gives records of its own (typed-array copies: a memcpy of 64 bytes an order, plus the lists'
 * heads, O(users + levels)), which the engine's later commands do not touch, so the encoder can
 * run over them a slice at a time between commands.
 */
export interface FrozenBook {
  header: Omit<SnapshotHeader, "version">;
  live: number;
  slotsUsed: number;
  i32: Int32Array;
  f64: Float64Array;
  peak: Float64Array;
  stopPrice: Int32Array;
  trailOffset: Int32Array;
  trailRef: Int32Array;
  oco: Int32Array;
  /** Users with live orders, ascending, and the slot of each one's oldest order. */
  userIds: number[];
  userHeads: Int32Array;
  /** The head slot of each level, best first. */
  bidHeads: Int32Array;
  askHeads: Int32Array;
  stopHead: number;
}

export function freezeBook(
  { pool, users, levels }: BookStore,
  header: Omit<SnapshotHeader, "version">,
  live: number,
  stopHead: number,
  copy: boolean,
): FrozenBook {
  const used = pool.slotsUsed;
  const cold = <T extends Int32Array | Float64Array>(a: T): T => (copy ? (a.slice(0, used) as T) : a);
  const i32 = copy ? pool.i32.slice(0, used << RECORD_SHIFT) : pool.i32;
  const userIds = users.userIds();
  const levelHeads = (side: number): Int32Array => {
    const heads: number[] = [];
    const best = side === Side.BUY ? levels.bestBid : levels.bestAsk;
    for (let p = best; p !== 0; p = levels.behind(side, p))
      heads.push(levels.field(levels.levelAt(p), L_HEAD));
    return Int32Array.from(heads);
  };
  return {
    header,
    live,
    slotsUsed: used,
    i32,
    f64: copy ? new Float64Array(i32.buffer) : pool.f64,
    peak: cold(pool.peak),
    stopPrice: cold(pool.stopPrice),
    trailOffset: cold(pool.trailOffset),
    trailRef: cold(pool.trailRef),
    oco: cold(pool.oco),
    userIds,
    userHeads: Int32Array.from(userIds, (id) => users.first(id)),
    bidHeads: levelHeads(Side.BUY),
    askHeads: levelHeads(Side.SELL),
    stopHead,
  };
}

/** Orders per slice when the whole snapshot is written at once (a small integer: V8 keeps the countdown a Smi). */
const WHOLE = 0x3fffffff;

/**
 * Writes the canonical snapshot of a frozen book (format: README.md, "Snapshot format"), `slice`
 * orders at a time: `step` encodes the next slice and says whether the snapshot is complete, then
 * `bytes` are exactly what `snapshot()` gave at the moment the book was frozen.
 */
export class SnapshotEncoder {
  private readonly writer: VarintWriter;
  private readonly steps: Generator<void, void, void>;
  private out: Uint8Array | null = null;

  constructor(book: FrozenBook, slice = WHOLE) {
    this.writer = new VarintWriter(64 + book.live * BYTES_PER_ORDER);
    this.steps = encode(book, this.writer, Math.max(1, Math.min(slice, WHOLE)));
  }

  step(): boolean {
    if (this.out === null && this.steps.next().done) this.out = this.writer.finish();
    return this.out !== null;
  }

  get bytes(): Uint8Array {
    if (this.out === null) throw new Error("engine snapshot: not complete");
    return this.out;
  }
}

/** The snapshot of a book as it is now, in one go (no copy). */
export function encodeSnapshot(
  book: BookStore,
  header: Omit<SnapshotHeader, "version">,
  live: number,
  stopHead: number,
): Uint8Array {
  const encoder = new SnapshotEncoder(freezeBook(book, header, live, stopHead, false));
  while (!encoder.step());
  return encoder.bytes;
}

/** Bytes a snapshot takes per order, about (to size the buffer once). */
const BYTES_PER_ORDER = 24;

/**
 * Writes magic, version 2, the five config fields, nextSeq, lastPrice, the live orders (count,
 * then twelve fields each: orderId userId meta price stopPrice trailOffset trailRef quantity
 * filled shown peak oco; grouped by user id ascending, each user's orders in acceptance order),
 * the bid levels best first (count, then each level's orders in queue order), the ask levels
 * likewise, and the pending stops in acceptance order (`stopHead` on, via `next`). Orders are
 * referred to by their position in the order list (oco: position + 1, 0 for none), so a
 * restore needs no id lookups; version 1 referred to them by id. Yields after every `slice`
 * orders visited (each pass over the orders counts).
 */
function* encode(b: FrozenBook, w: VarintWriter, slice: number): Generator<void, void, void> {
  const { i32, f64, userHeads } = b;
  let left = slice;
  w.uint(MAGIC);
  w.uint(VERSION);
  for (const field of CONFIG_FIELDS) w.uint(b.header.config[field]);
  w.uint(b.header.nextSeq);
  w.uint(b.header.lastPrice);
  w.uint(b.live);
  const position = new Int32Array(b.slotsUsed);
  let next = 0;
  for (let u = 0; u < userHeads.length; u++) {
    for (let s = userHeads[u]!; s !== -1; s = i32[(s << RECORD_SHIFT) + USER_NEXT]!) {
      position[s] = next++;
      if (--left === 0) {
        yield;
        left = slice;
      }
    }
  }
  for (let u = 0; u < userHeads.length; u++) {
    const userId = b.userIds[u]!;
    for (let s = userHeads[u]!; s !== -1; s = i32[(s << RECORD_SHIFT) + USER_NEXT]!) {
      const o = s << RECORD_SHIFT;
      const d = s << F64_SHIFT;
      const meta = i32[o + META]!;
      const stop = isStopType(meta);
      w.uint(f64[d + ID]!);
      w.uint(userId);
      w.uint(meta & SNAPSHOT_META);
      w.uint(i32[o + PRICE]!);
      w.uint(stop ? b.stopPrice[s]! : 0);
      w.uint(stop ? b.trailOffset[s]! : 0);
      w.uint(stop ? b.trailRef[s]! : 0);
      w.uint(f64[d + QUANTITY]!);
      w.uint(f64[d + FILLED]!);
      w.uint(f64[d + SHOWN]!);
      w.uint((meta & ICEBERG_BIT) !== 0 ? b.peak[s]! : 0);
      w.uint((meta & OCO_BIT) !== 0 ? position[b.oco[s]!]! + 1 : 0);
      if (--left === 0) {
        yield;
        left = slice;
      }
    }
  }
  for (const heads of [b.bidHeads, b.askHeads]) {
    w.uint(heads.length);
    for (let l = 0; l < heads.length; l++) {
      let n = 0;
      for (let s = heads[l]!; s !== -1; s = i32[(s << RECORD_SHIFT) + NEXT]!) n++;
      w.uint(n);
      for (let s = heads[l]!; s !== -1; s = i32[(s << RECORD_SHIFT) + NEXT]!) {
        w.uint(position[s]!);
        if (--left === 0) {
          yield;
          left = slice;
        }
      }
    }
  }
  let stops = 0;
  for (let s = b.stopHead; s !== -1; s = i32[(s << RECORD_SHIFT) + NEXT]!) stops++;
  w.uint(stops);
  for (let s = b.stopHead; s !== -1; s = i32[(s << RECORD_SHIFT) + NEXT]!) {
    w.uint(position[s]!);
    if (--left === 0) {
      yield;
      left = slice;
    }
  }
}
