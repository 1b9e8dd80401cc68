import * as codes from "./codes";
import { FarLevels } from "./far-levels";
import { LevelBitset } from "./level-bitset";
import type { OrderPool } from "./order-pool";
import * as layout from "./record-layout";
import { RecordBuffer } from "./record-buffer";

// Module-level copies of imported values the hot path reads: V8 folds a module's own constants
// into compiled code but loads and checks an imported binding at each use (see matching-engine.ts);
// the level record's layout is in record-layout.ts.
const { Side } = codes;
const {
  F64_SHIFT,
  L_HEAD,
  L_PRICE,
  L_TAIL,
  LEVEL,
  LEVEL_SHIFT,
  NEXT,
  PREV,
  PRICE,
  RECORD_SHIFT,
  SHOWN,
  VISIBLE_SHIFT,
} = layout;

/** Bytes of a level record (LEVEL_SHIFT counts Int32 words). */
const LEVEL_BYTES = 4 << LEVEL_SHIFT;

/** Ticks of the dense window around the touch at first (a multiple of 1,024, the bitset's granule). */
export const WINDOW = 8192;
/**
 * The widest the window grows: 4 bytes a tick (512 KB), only for books with more than 32,768 far
 * levels (on the wide benchmark's book, tens of thousands of levels within a few percent of the
 * touch, a window of 8,192 ticks sent most new levels to the far sets: ~10% more CPU).
 */
export const MAX_WINDOW = 131072;

/**
 * The price levels of both sides. A level is a record (price, FIFO head/tail slots linked
 * through the pool's prev/next, displayed quantity); records are pooled and reused. Any price
 * from 1 to maxPrice can hold a level, at any distance from the touch:
 *
 * - levels within the dense window of `window` ticks starting at `base` are found by index
 *   (`at`), and two-level bitsets give the next non-empty level of each side in a few words;
 * - levels outside it are kept per side in FarLevels, a sorted block structure.
 *
 * The window holds the touch: after a command that moved the touch out of it, `settle`
 * re-centres it, demoting the levels it leaves and promoting the far levels it reaches.
 * Invariant: far bids lie below the window and far asks above it (`base` ≤ best ask and best
 * bid < `base` + `window`), so the best far level of a side is always its next level after the
 * window. Because the book is never crossed, a price is a bid level or an ask level, never
 * both, so the sides share `at` and differ in their bitsets.
 */
export class PriceLevels {
  // Level records, indexed by level id (layout above); a free record's tail links the free list.
  // Their memory grows in place once large (see RecordBuffer).
  private readonly records: RecordBuffer;
  i32: Int32Array;
  f64: Float64Array;
  private capacity = 64;
  private freeLevel = -1;
  private usedLevels = 0;
  /** Levels in the book. */
  count = 0;

  /** First price of the window; `at[price - base]` is the level there or -1. */
  base = 1;
  /**
   * Ticks in the window: WINDOW, doubled (up to MAX_WINDOW) whenever the far sets hold more
   * levels than half its ticks, so a small book stays small (the window costs 4 bytes a tick)
   * and a book with many levels near the touch keeps most of them on the fast path. It never shrinks.
   */
  window = WINDOW;
  private at = new Int32Array(WINDOW).fill(-1);
  private bids = new LevelBitset(WINDOW);
  private asks = new LevelBitset(WINDOW);
  /** Levels outside the window: keys are the price (bids) or −price (asks). */
  private readonly farBids = new FarLevels();
  private readonly farAsks = new FarLevels();
  /** Best prices in ticks, 0 when the side is empty. */
  bestBid = 0;
  bestAsk = 0;

  /** `maxLevels`: at most one level per live order. */
  constructor(
    private readonly pool: OrderPool,
    private readonly maxLevels: number,
  ) {
    this.records = new RecordBuffer(this.capacity * LEVEL_BYTES, maxLevels * LEVEL_BYTES);
    this.i32 = this.records.int32();
    this.f64 = this.records.float64();
  }

  /** Bytes of level records in a growable SharedArrayBuffer (see RecordBuffer), which process.memoryUsage() does not count. */
  get sharedBytes(): number {
    return this.records.sharedBytes;
  }

  /** The level at `price`, or -1. */
  levelAt(price: number): number {
    const i = price - this.base;
    if (i >= 0 && i < this.window) return this.at[i]!;
    // By the invariant, a level below the window is a bid and one above it an ask.
    return i < 0 ? this.farBids.find(price) : this.farAsks.find(-price);
  }

  /** Appends `slot` (its price, side and shown quantity set) to the back of its level; returns the level. */
  append(side: number, slot: number): number {
    const price = this.pool.i32[(slot << RECORD_SHIFT) + PRICE]!;
    const level = this.levelAt(price);
    return level === -1 ? this.linkAlone(this.open(side, price), slot) : this.link(level, slot);
  }

  /**
   * `link` for a level just opened: the order is its whole queue. Kept apart so that `link`'s
   * test of the tail, which waits on the level record (a miss on a wide book), is always false
   * on the command path and predicted so.
   */
  private linkAlone(level: number, slot: number): number {
    const p32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    const l = level << LEVEL_SHIFT;
    p32[o + PREV] = -1;
    p32[o + NEXT] = -1;
    p32[o + LEVEL] = level;
    this.i32[l + L_HEAD] = slot;
    this.i32[l + L_TAIL] = slot;
    this.f64[level << VISIBLE_SHIFT] = this.pool.f64[(slot << F64_SHIFT) + SHOWN]!;
    return level;
  }

  /** Appends `slot` to the back of `level` and adds its shown quantity; returns the level. */
  link(level: number, slot: number): number {
    const pool = this.pool;
    const p32 = pool.i32;
    const l32 = this.i32;
    const l = level << LEVEL_SHIFT;
    const o = slot << RECORD_SHIFT;
    const last = l32[l + L_TAIL]!;
    p32[o + PREV] = last;
    p32[o + NEXT] = -1;
    p32[o + LEVEL] = level;
    if (last === -1) l32[l + L_HEAD] = slot;
    else p32[(last << RECORD_SHIFT) + NEXT] = slot;
    l32[l + L_TAIL] = slot;
    this.f64[level << VISIBLE_SHIFT]! += pool.f64[(slot << F64_SHIFT) + SHOWN]!;
    return level;
  }

  /** Unlinks `slot` from `level`, subtracting its shown quantity; returns the level's new quantity. */
  remove(side: number, level: number, slot: number): number {
    const p32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    if (p32[o + PREV] === -1 && p32[o + NEXT] === -1) {
      // The level's only order: the level goes, and nothing of its record needs reading (its
      // price is the order's). Most cancels on a wide book are such lone orders, and the level
      // record is one more miss after the order's.
      this.emptied(side, level, p32[o + PRICE]!);
      return 0;
    }
    // Another order stays, so the level does too.
    this.unlink(level, slot);
    return (this.f64[level << VISIBLE_SHIFT]! -= this.pool.f64[(slot << F64_SHIFT) + SHOWN]!);
  }

  /** Unlinks `slot` from `level` without touching quantities. */
  unlink(level: number, slot: number): void {
    const p32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    const prev = p32[o + PREV]!;
    const next = p32[o + NEXT]!;
    const l = level << LEVEL_SHIFT;
    if (prev === -1) this.i32[l + L_HEAD] = next;
    else p32[(prev << RECORD_SHIFT) + NEXT] = next;
    if (next === -1) this.i32[l + L_TAIL] = prev;
    else p32[(next << RECORD_SHIFT) + PREV] = prev;
  }

  /** Moves `slot` to the back of `level` (an iceberg's refreshed slice loses priority). */
  moveToTail(level: number, slot: number): void {
    const l = level << LEVEL_SHIFT;
    if (this.i32[l + L_TAIL] === slot) return;
    this.unlink(level, slot);
    const p32 = this.pool.i32;
    const last = this.i32[l + L_TAIL]!;
    p32[(slot << RECORD_SHIFT) + PREV] = last;
    p32[(slot << RECORD_SHIFT) + NEXT] = -1;
    p32[(last << RECORD_SHIFT) + NEXT] = slot;
    this.i32[l + L_TAIL] = slot;
  }

  // Level fields (queries, snapshots, checks; the hot path indexes `i32`/`f64` itself).
  /** A level's L_PRICE, L_HEAD or L_TAIL word. */
  field(level: number, which: number): number {
    return this.i32[(level << LEVEL_SHIFT) + which]!;
  }
  visibleOf(level: number): number {
    return this.f64[level << VISIBLE_SHIFT]!;
  }
  setVisible(level: number, quantity: number): void {
    this.f64[level << VISIBLE_SHIFT] = quantity;
  }

  /**
   * Drops a level at `price` that has emptied (or is about to: its head may still name its last
   * order, which a freed record's next allocation resets), and moves the best price past it when
   * it was the best.
   */
  emptied(side: number, level: number, price: number): void {
    const i = price - this.base;
    if (i >= 0 && i < this.window) {
      this.at[i] = -1;
      if (side === Side.BUY) this.bids.clear(i);
      else this.asks.clear(i);
    } else {
      this.dropFar(side, price);
    }
    this.i32[(level << LEVEL_SHIFT) + L_TAIL] = this.freeLevel;
    this.freeLevel = level;
    this.count--;
    if (side === Side.BUY) {
      if (price === this.bestBid) this.bestBid = this.behind(side, price);
    } else if (price === this.bestAsk) {
      this.bestAsk = this.behind(side, price);
    }
  }

  private dropFar(side: number, price: number): void {
    if (side === Side.BUY) this.farBids.remove(price);
    else this.farAsks.remove(-price);
  }

  /** The next level price behind `price` on `side` (further from the touch), or 0. */
  behind(side: number, price: number): number {
    const i = price - this.base;
    if (side === Side.BUY) {
      if (i < 0) return this.farBids.before(price);
      const j = this.bids.highestAtOrBelow(Math.min(i, this.window) - 1);
      if (j !== -1) return this.base + j;
      return this.farBids.size === 0 ? 0 : this.farBids.lastKey();
    }
    if (i >= this.window) return -this.farAsks.before(-price);
    const j = this.asks.lowestAtOrAbove(i < 0 ? 0 : i + 1);
    if (j !== -1) return this.base + j;
    return this.farAsks.size === 0 ? 0 : -this.farAsks.lastKey();
  }

  /**
   * After a command: re-centres the window if it lost the touch (both touches when they are
   * less than a window apart, otherwise at least one), so the next commands take the fast path.
   */
  settle(): void {
    // Unsigned: a price below the window wraps to a large offset; an empty side (0) is in.
    const base = this.base;
    const window = this.window;
    if (
      (this.bestBid === 0 || (this.bestBid - base) >>> 0 < window) &&
      (this.bestAsk === 0 || (this.bestAsk - base) >>> 0 < window)
    )
      return;
    this.follow();
  }

  /** `settle` when a touch has left the window. */
  private follow(): void {
    const bid = this.bestBid;
    const ask = this.bestAsk;
    const window = this.window;
    const bidIn = bid === 0 || (bid >= this.base && bid - this.base < window);
    const askIn = ask === 0 || (ask >= this.base && ask - this.base < window);
    const apart = bid !== 0 && ask !== 0 && ask - bid >= window;
    if (apart && (bidIn || askIn)) return;
    this.recentre(bid !== 0 ? bid : ask);
  }

  /** Throws on the first broken invariant (see MatchingEngine.validateInternalState). */
  validate(): void {
    const fail = (what: string): never => {
      throw new Error(`price levels: ${what}`);
    };
    this.farBids.validate();
    this.farAsks.validate();
    if (this.at.length !== this.window || this.bids.bits !== this.window || this.asks.bits !== this.window)
      fail(
        `window of ${this.window} ticks has arrays of ${this.at.length}, ${this.bids.bits}, ${this.asks.bits}`,
      );
    let inWindow = 0;
    for (let i = 0; i < this.window; i++) {
      const level = this.at[i]!;
      if (level === -1) continue;
      inWindow++;
      if (this.field(level, L_PRICE) !== this.base + i)
        fail(`level ${level} at ${this.base + i} says ${this.field(level, L_PRICE)}`);
      if (this.bids.has(i) === this.asks.has(i)) fail(`level at ${this.base + i} is on no side or both`);
    }
    // Every level has one bit: as many bits as levels means no bit without a level.
    let bits = 0;
    for (const set of [this.bids, this.asks]) {
      set.validate();
      for (let i = set.lowestAtOrAbove(0); i !== -1; i = set.lowestAtOrAbove(i + 1)) bits++;
    }
    if (bits !== inWindow) fail(`${bits} bits set for ${inWindow} levels in the window`);
    this.farBids.forEach((price, level) => {
      if (price >= this.base) fail(`far bid ${price} is not below the window at ${this.base}`);
      if (this.field(level, L_PRICE) !== price)
        fail(`far bid level ${level} says ${this.field(level, L_PRICE)}`);
    });
    this.farAsks.forEach((key, level) => {
      if (-key < this.base + this.window) fail(`far ask ${-key} is not above the window at ${this.base}`);
      if (this.field(level, L_PRICE) !== -key)
        fail(`far ask level ${level} says ${this.field(level, L_PRICE)}`);
    });
    if (inWindow + this.farBids.size + this.farAsks.size !== this.count) {
      fail(
        `count ${this.count} but ${inWindow} window and ${this.farBids.size + this.farAsks.size} far levels`,
      );
    }
    let free = 0;
    for (let level = this.freeLevel; level !== -1; level = this.field(level, L_TAIL)) {
      if (++free > this.usedLevels) fail("the free level list loops");
    }
    if (free + this.count !== this.usedLevels)
      fail(`${this.usedLevels - free - this.count} level records lost`);
  }

  /** Opens an empty level at `price`, where there is none (the order about to rest there is on `side`). */
  open(side: number, price: number): number {
    const level = this.allocLevel(price);
    const buy = side === Side.BUY;
    if (buy ? price > this.bestBid : this.bestAsk === 0 || price < this.bestAsk) {
      if (buy) this.bestBid = price;
      else this.bestAsk = price;
    }
    const i = price - this.base;
    if (i < 0 || i >= this.window) return this.openOutside(buy, price, level);
    this.at[i] = level;
    if (buy) this.bids.set(i);
    else this.asks.set(i);
    return level;
  }

  /** `open` for a price outside the window: a far level, or a new touch the window must follow. */
  private openOutside(buy: boolean, price: number, level: number): number {
    const i = price - this.base;
    if (buy ? i < 0 : i >= this.window) {
      if (buy) this.farBids.insert(price, level);
      else this.farAsks.insert(-price, level);
      if (this.farBids.size + this.farAsks.size > this.window >> 1 && this.window < MAX_WINDOW) this.widen();
      return level;
    }
    // A new touch beyond the window on its own side's inner edge: the window must follow it.
    this.recentre(price);
    const j = price - this.base;
    this.at[j] = level;
    if (buy) this.bids.set(j);
    else this.asks.set(j);
    return level;
  }

  private allocLevel(price: number): number {
    let level = this.freeLevel;
    if (level !== -1) {
      this.freeLevel = this.field(level, L_TAIL);
    } else {
      if (this.usedLevels === this.capacity) this.growLevels();
      level = this.usedLevels++;
    }
    const l = level << LEVEL_SHIFT;
    this.i32[l + L_PRICE] = price;
    this.i32[l + L_HEAD] = -1;
    this.i32[l + L_TAIL] = -1;
    this.f64[level << VISIBLE_SHIFT] = 0;
    this.count++;
    return level;
  }

  /** By half, capped at `maxLevels` (the records' reservation; one level per live order is never more). */
  private growLevels(): void {
    this.resize(Math.min(this.capacity + (this.capacity >> 1), this.maxLevels), true);
  }

  /** Room for `count` level records at once (a restore, which then writes them all). */
  reserve(count: number): void {
    if (count > this.capacity) this.resize(count, false);
  }

  private resize(capacity: number, prefault: boolean): void {
    // Capacity only once the memory is there: a failed growth leaves the levels as they were.
    this.records.grow(capacity * LEVEL_BYTES, prefault);
    this.capacity = capacity;
    this.i32 = this.records.int32();
    this.f64 = this.records.float64();
  }

  /**
   * Moves the window so it holds `focus` and, when they are less than a window apart, both
   * touches, centred between them; keeps the far-side invariant.
   */
  private recentre(focus: number): void {
    const base = this.baseFor(focus);
    if (base !== this.base) this.moveTo(base);
  }

  /** The window's first price for `recentre(focus)`. */
  private baseFor(focus: number): number {
    const bid = this.bestBid;
    const ask = this.bestAsk;
    const window = this.window;
    const half = window >> 1;
    let base = focus - half;
    if (bid !== 0 && ask !== 0 && ask - bid < window) base = bid + ((ask - bid + 1) >> 1) - half;
    if (ask !== 0) base = Math.min(base, ask);
    if (bid !== 0) base = Math.max(base, bid - window + 1);
    return Math.max(1, base);
  }

  /** Doubles the window (its levels keep their places), then re-centres it and takes in the far levels it covers. */
  private widen(): void {
    const window = this.window << 1;
    const at = new Int32Array(window).fill(-1);
    at.set(this.at);
    this.at = at;
    this.bids = this.bids.widened(window);
    this.asks = this.asks.widened(window);
    this.window = window;
    this.moveTo(this.baseFor(this.bestBid !== 0 ? this.bestBid : this.bestAsk));
  }

  /**
   * Moves the window to start at `base`. Levels it leaves go to the far sets (at their best
   * end), far levels it covers come in: O(window / 32 + moved), and O(window) to rebuild the bitsets.
   */
  private moveTo(base: number): void {
    const window = this.window;
    const bid = this.bestBid;
    const shift = base - this.base;
    const at = this.at;
    // Bids below the new window (it moved up) and asks above it (it moved down) leave, worst first.
    for (let i = this.bids.lowestAtOrAbove(0); i !== -1 && i < shift; i = this.bids.lowestAtOrAbove(i + 1)) {
      this.farBids.insert(this.base + i, at[i]!);
    }
    for (let i = this.asks.highestAtOrBelow(window - 1); i !== -1 && i >= window + shift;) {
      this.farAsks.insert(-(this.base + i), at[i]!);
      i = this.asks.highestAtOrBelow(i - 1);
    }
    if (shift >= window || shift <= -window) at.fill(-1);
    else if (shift > 0) at.copyWithin(0, shift).fill(-1, window - shift);
    else if (shift < 0) at.copyWithin(-shift, 0, window + shift).fill(-1, 0, -shift);
    this.base = base;
    // Rebuild the bitsets: a level at or below the best bid is a bid (the book is not crossed).
    this.bids.reset();
    this.asks.reset();
    for (let i = 0; i < window; i++) {
      const level = at[i]!;
      if (level !== -1) (this.field(level, L_PRICE) <= bid ? this.bids : this.asks).set(i);
    }
    // Far levels the window now covers come in, best first.
    while (this.farBids.size > 0 && this.farBids.lastKey() >= base) {
      const level = this.farBids.popLast();
      at[this.field(level, L_PRICE) - base] = level;
      this.bids.set(this.field(level, L_PRICE) - base);
    }
    while (this.farAsks.size > 0 && -this.farAsks.lastKey() < base + window) {
      const level = this.farAsks.popLast();
      at[this.field(level, L_PRICE) - base] = level;
      this.asks.set(this.field(level, L_PRICE) - base);
    }
  }
}
