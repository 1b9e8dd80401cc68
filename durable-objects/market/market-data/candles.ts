/** Candle intervals the market serves, with their length in milliseconds. */
export const INTERVALS = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
} as const;
export type Interval = keyof typeof INTERVALS;
export const INTERVAL_NAMES = Object.keys(INTERVALS) as Interval[];

export const isInterval = (v: unknown): v is Interval => typeof v === "string" && Object.hasOwn(INTERVALS, v);

/** OHLCV in engine units: prices in ticks, volume in lots. */
export interface Candle {
  interval: Interval;
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  trades: number;
}

/** The rolling 24 h ticker is computed from this many one-minute candles. */
const DAY_OF_MINUTES = 1440;

/**
 * The open candle of every interval plus the last day of one-minute candles (for the ticker).
 * Trades must arrive in time order (they do: one writer, one clock).
 */
export class CandleBook {
  private readonly current = new Map<Interval, Candle>();
  /** Closed and open one-minute candles, oldest first, at most a day's worth. */
  readonly minutes: Candle[] = [];
  private readonly dirty = new Set<Candle>();

  /** Restores from stored candles (any order): the latest of each interval becomes current. */
  load(candles: Iterable<Candle>): void {
    const ones: Candle[] = [];
    for (const c of candles) {
      const cur = this.current.get(c.interval);
      if (!cur || c.start > cur.start) this.current.set(c.interval, c);
      if (c.interval === "1m") ones.push(c);
    }
    ones.sort((a, b) => a.start - b.start);
    this.minutes.push(...ones.slice(-DAY_OF_MINUTES));
  }

  addTrade(ts: number, price: number, quantity: number): void {
    for (const interval of INTERVAL_NAMES) {
      const start = ts - (ts % INTERVALS[interval]);
      let c = this.current.get(interval);
      if (!c || c.start < start) {
        c = { interval, start, open: price, high: price, low: price, close: price, volume: 0, trades: 0 };
        this.current.set(interval, c);
        if (interval === "1m") {
          this.minutes.push(c);
          if (this.minutes.length > DAY_OF_MINUTES) this.minutes.shift();
        }
      } else if (c.start > start) {
        continue; // a clock step backwards: never rewrite a closed candle
      }
      if (price > c.high) c.high = price;
      if (price < c.low) c.low = price;
      c.close = price;
      c.volume += quantity;
      c.trades++;
      this.dirty.add(c);
    }
  }

  currentOf(interval: Interval): Candle | undefined {
    return this.current.get(interval);
  }

  /** Candles changed since the last call (to persist and broadcast). */
  takeDirty(): Candle[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }
}
