import type { Interval } from "../../durable-objects/market/market-data/candles";
import type { CandleView } from "../../durable-objects/market/messages";
import { formatUnits, parseUnits } from "../lib/money";
import type { MarketRules } from "../domain/market/market-rules";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-05, the first Monday after the epoch: Binance's weeks start on Mondays. */
const FIRST_MONDAY = 4 * DAY;

/** A Binance interval the market does not keep, built from one it keeps. */
export interface DerivedInterval {
  from: Interval;
  /** At most this many kept candles make one of these. */
  per: number;
  startOf(ts: number): number;
  next(start: number): number;
}

const fixed = (from: Interval, length: number, fromLength: number): DerivedInterval => ({
  from,
  per: length / fromLength,
  startOf: (ts) => ts - (ts % length),
  next: (start) => start + length,
});

export const DERIVED_INTERVALS: Record<string, DerivedInterval> = {
  "3m": fixed("1m", 3 * MINUTE, MINUTE),
  "30m": fixed("15m", 30 * MINUTE, 15 * MINUTE),
  "2h": fixed("1h", 2 * HOUR, HOUR),
  "6h": fixed("1h", 6 * HOUR, HOUR),
  "8h": fixed("1h", 8 * HOUR, HOUR),
  "12h": fixed("1h", 12 * HOUR, HOUR),
  "3d": fixed("1d", 3 * DAY, DAY),
  "1w": {
    from: "1d",
    per: 7,
    startOf: (ts) => ts - ((((ts - FIRST_MONDAY) % (7 * DAY)) + 7 * DAY) % (7 * DAY)),
    next: (start) => start + 7 * DAY,
  },
  "1M": {
    from: "1d",
    per: 31,
    startOf: (ts) => {
      const d = new Date(ts);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    },
    next: (start) => {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    },
  },
};

/** Kept candles (oldest first) merged into the derived interval's, oldest first. */
export function mergeCandles(
  candles: CandleView[],
  name: string,
  d: DerivedInterval,
  rules: MarketRules,
): CandleView[] {
  const price = (v: string) => parseUnits(v, rules.quoteDecimals, { allowZero: true });
  const qty = (v: string) => parseUnits(v, rules.baseDecimals, { allowZero: true });
  const out: CandleView[] = [];
  for (const k of candles) {
    const start = d.startOf(k.open_time);
    const last = out.at(-1);
    if (!last || last.open_time !== start) {
      out.push({ ...k, interval: name, open_time: start, close_time: d.next(start) - 1 });
      continue;
    }
    if (price(k.high) > price(last.high)) last.high = k.high;
    if (price(k.low) < price(last.low)) last.low = k.low;
    last.close = k.close;
    last.volume = formatUnits(qty(last.volume) + qty(k.volume), rules.baseDecimals);
    last.trades += k.trades;
  }
  return out;
}
