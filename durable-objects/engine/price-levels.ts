import { Side } from "./codes";
import { LevelBitset } from "./level-bitset";
import type { OrderPool } from "./order-pool";

/** Levels of the first window (the smallest a bitset allows); it grows only as the book's span needs. */
const INITIAL_WINDOW = 1024;

/**
 * The price levels of both sides in one dense window of `size` ticks starting at `base`.
 * A level holds the FIFO of its resting orders (head/tail slots, linked through the pool's
 * prev/next) and its aggregated displayed quantity. Because the book is never crossed, a
 * price is a bid level or an ask level, never both, so the sides share the arrays and differ
 * only in their bitsets. The window re-centres and doubles when a price falls outside it, up
 * to `maxSpan` ticks between the lowest and highest resting price.
 */
export class PriceLevels {
  base = 1;
  size = 0;
  head = new Int32Array(0);
  tail = new Int32Array(0);
  visible = new Float64Array(0);
  bids = new LevelBitset(1024);
  asks = new LevelBitset(1024);
  /** Best prices in ticks, 0 when the side is empty. */
  bestBid = 0;
  bestAsk = 0;
  private readonly maxSize: number;

  constructor(
    private readonly pool: OrderPool,
    private readonly maxSpan: number,
  ) {
    let n = 1024;
    while (n < maxSpan) n *= 2;
    this.maxSize = n;
  }

  /** Whether an order at `price` can rest without the book spanning more than `maxSpan` ticks. */
  fits(price: number): boolean {
    const i = price - this.base;
    if (i >= 0 && i < this.size) return true;
    const [lo, hi] = this.liveRange(price);
    return hi - lo + 1 <= this.maxSpan;
  }

  /** Appends `slot` (its price, side and shown quantity set) to the back of its level. */
  append(side: number, slot: number): void {
    const pool = this.pool;
    const price = pool.price[slot]!;
    let i = price - this.base;
    if (i < 0 || i >= this.size) i = this.rebase(price);
    const last = this.tail[i]!;
    pool.prev[slot] = last;
    pool.next[slot] = -1;
    if (last === -1) {
      this.head[i] = slot;
      if (side === Side.BUY) {
        this.bids.set(i);
        if (price > this.bestBid) this.bestBid = price;
      } else {
        this.asks.set(i);
        if (this.bestAsk === 0 || price < this.bestAsk) this.bestAsk = price;
      }
    } else {
      pool.next[last] = slot;
    }
    this.tail[i] = slot;
    this.visible[i]! += pool.shown[slot]!;
  }

  /** Unlinks `slot` from its level, subtracting its shown quantity; returns the level's new quantity. */
  remove(side: number, slot: number): number {
    const pool = this.pool;
    const price = pool.price[slot]!;
    const i = price - this.base;
    this.unlink(i, slot);
    const left = (this.visible[i]! -= pool.shown[slot]!);
    if (this.head[i] === -1) this.emptied(side, price);
    return left;
  }

  /** Unlinks `slot` from level index `i` without touching quantities. */
  unlink(i: number, slot: number): void {
    const pool = this.pool;
    const prev = pool.prev[slot]!;
    const next = pool.next[slot]!;
    if (prev === -1) this.head[i] = next;
    else pool.next[prev] = next;
    if (next === -1) this.tail[i] = prev;
    else pool.prev[next] = prev;
  }

  /** Moves `slot` to the back of level index `i` (an iceberg's refreshed slice loses priority). */
  moveToTail(i: number, slot: number): void {
    if (this.tail[i] === slot) return;
    this.unlink(i, slot);
    const pool = this.pool;
    const last = this.tail[i]!;
    pool.prev[slot] = last;
    pool.next[slot] = -1;
    pool.next[last] = slot;
    this.tail[i] = slot;
  }

  /** Clears an empty level's bit and moves the best price past it when it was the best. */
  emptied(side: number, price: number): void {
    const i = price - this.base;
    this.visible[i] = 0;
    if (side === Side.BUY) {
      this.bids.clear(i);
      if (price === this.bestBid) this.bestBid = this.priceAt(this.bids.highestAtOrBelow(i - 1));
    } else {
      this.asks.clear(i);
      if (price === this.bestAsk) this.bestAsk = this.priceAt(this.asks.lowestAtOrAbove(i + 1));
    }
  }

  /** The next level behind `price` on `side` (further from the touch), or 0. */
  behind(side: number, price: number): number {
    const i = price - this.base;
    return side === Side.BUY
      ? this.priceAt(this.bids.highestAtOrBelow(i - 1))
      : this.priceAt(this.asks.lowestAtOrAbove(i + 1));
  }

  headAt(price: number): number {
    return this.head[price - this.base]!;
  }

  visibleAt(price: number): number {
    return this.visible[price - this.base]!;
  }

  private priceAt(index: number): number {
    return index === -1 ? 0 : this.base + index;
  }

  /** Lowest and highest resting price together with `price`. */
  private liveRange(price: number): [number, number] {
    const lowBid = this.bids.lowestAtOrAbove(0);
    const lo = lowBid !== -1 ? this.base + lowBid : this.bestAsk;
    const highAsk = this.asks.highestAtOrBelow(this.size - 1);
    const hi = highAsk !== -1 ? this.base + highAsk : this.bestBid;
    return [lo === 0 ? price : Math.min(lo, price), hi === 0 ? price : Math.max(hi, price)];
  }

  /** Re-centres (and if needed doubles) the window so it holds `price`; returns its index. */
  private rebase(price: number): number {
    const [lo, hi] = this.size === 0 ? [price, price] : this.liveRange(price);
    const span = hi - lo + 1;
    let size = Math.max(this.size, Math.min(INITIAL_WINDOW, this.maxSize));
    while (size < span * 2 && size < this.maxSize) size *= 2;
    const base = Math.max(1, lo - Math.floor((size - span) / 2));
    const head = new Int32Array(size).fill(-1);
    const tail = new Int32Array(size).fill(-1);
    const visible = new Float64Array(size);
    const bids = new LevelBitset(size);
    const asks = new LevelBitset(size);
    for (const [from, to] of [
      [this.bids, bids],
      [this.asks, asks],
    ] as const) {
      for (let i = from.lowestAtOrAbove(0); i !== -1; i = from.lowestAtOrAbove(i + 1)) {
        const j = this.base + i - base;
        head[j] = this.head[i]!;
        tail[j] = this.tail[i]!;
        visible[j] = this.visible[i]!;
        to.set(j);
      }
    }
    this.base = base;
    this.size = size;
    this.head = head;
    this.tail = tail;
    this.visible = visible;
    this.bids = bids;
    this.asks = asks;
    return price - base;
  }
}
