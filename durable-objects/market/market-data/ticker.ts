import type { Candle } from "./candles";

/** Rolling 24 h statistics in engine units (ticks, lots). */
export interface TickerStats {
  open: number;
  high: number;
  low: number;
  last: number;
  volume: number;
  trades: number;
  /** Change from open in basis points (integer, truncated toward zero). */
  changeBps: number;
  windowStart: number;
}

const DAY_MS = 86_400_000;

/**
 * The ticker over the one-minute candles whose minute overlaps the last 24 h before `now`.
 * `last` is the last trade price ever (a quiet market keeps its last price); 0 before any trade.
 */
export function rollingTicker(minutes: readonly Candle[], now: number, lastPrice: number): TickerStats {
  const windowStart = now - DAY_MS;
  let open = 0;
  let high = 0;
  let low = 0;
  let volume = 0;
  let trades = 0;
  for (const c of minutes) {
    if (c.start + 60_000 <= windowStart) continue;
    if (open === 0) {
      open = c.open;
      high = c.high;
      low = c.low;
    }
    if (c.high > high) high = c.high;
    if (c.low < low) low = c.low;
    volume += c.volume;
    trades += c.trades;
  }
  const last = lastPrice;
  if (open === 0) {
    open = high = low = last;
  }
  const changeBps = open === 0 ? 0 : Math.trunc(((last - open) * 10_000) / open);
  return { open, high, low, last, volume, trades, changeBps, windowStart };
}
