import { INTERVALS, type Interval } from "../../durable-objects/market/market-data/candles";
import type { CandleView } from "../../durable-objects/market/messages";
import { formatUnits, parseUnits } from "../lib/money";
import type { MarketRules } from "../domain/market/market-rules";
import { BinanceError } from "./binance-errors";
import { binanceSymbol } from "./symbols";

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX = { m: 59, h: 23, d: 7 } as const;

/** `windowSize` (1m…59m, 1h…23h, 1d…7d; default 1d) in ms. */
export function windowSizeMs(raw = "1d"): number {
  const m = /^([1-9]\d?)([mhd])$/.exec(raw);
  const unit = m?.[2] as keyof typeof UNIT_MS | undefined;
  if (!m || !unit || Number(m[1]) > MAX[unit]) {
    throw new BinanceError(
      400,
      -1100,
      "Illegal characters found in parameter 'windowSize'; legal range is '1m-59m, 1h-23h, 1d-7d'.",
    );
  }
  return Number(m[1]) * UNIT_MS[unit];
}

/**
 * The candles a window is read from, at most 1,000 of them: one-minute candles up to 1,000
 * minutes, five-minute ones up to 5,000, fifteen-minute ones beyond (7 days are 672). The window
 * opens at the start of its first candle, so it is up to one candle longer than asked (Binance:
 * up to a minute).
 */
export function windowCandles(windowMs: number, now: number): { interval: Interval; openTime: number } {
  const interval: Interval = windowMs <= 1_000 * 60_000 ? "1m" : windowMs <= 5_000 * 60_000 ? "5m" : "15m";
  const step = INTERVALS[interval];
  return { interval, openTime: Math.floor((now - windowMs) / step) * step };
}

/**
 * GET /api/v3/ticker's row from a window's candles. `lastPrice` is the last trade ever (as in
 * ticker/24hr), so a quiet window shows it as open, high and low. Quote volume and the weighted
 * average price are not tracked by the candles and are left out, as in ticker/24hr.
 */
export function rollingTicker(
  rules: MarketRules,
  candles: CandleView[],
  lastPrice: string | null,
  window: { openTime: number; closeTime: number },
  type: "FULL" | "MINI",
) {
  const price = (v: string) => parseUnits(v, rules.quoteDecimals, { allowZero: true });
  const last = price(lastPrice ?? "0");
  const open = candles[0] ? price(candles[0].open) : last;
  let high = candles[0] ? price(candles[0].high) : last;
  let low = candles[0] ? price(candles[0].low) : last;
  let volume = 0n;
  let count = 0;
  for (const k of candles) {
    if (price(k.high) > high) high = price(k.high);
    if (price(k.low) < low) low = price(k.low);
    volume += parseUnits(k.volume, rules.baseDecimals, { allowZero: true });
    count += k.trades;
  }
  const q = (v: bigint) => formatUnits(v, rules.quoteDecimals);
  const stats = {
    openPrice: q(open),
    highPrice: q(high),
    lowPrice: q(low),
    lastPrice: q(last),
    volume: formatUnits(volume, rules.baseDecimals),
    openTime: window.openTime,
    closeTime: window.closeTime,
    firstId: -1,
    lastId: -1,
    count,
  };
  const symbol = binanceSymbol(rules.symbol);
  if (type === "MINI") return { symbol, ...stats };
  return {
    symbol,
    priceChange: q(last - open),
    // Thousandths of a percent, truncated toward zero, as Binance prints it ("-1.250").
    priceChangePercent: formatUnits(open === 0n ? 0n : ((last - open) * 100_000n) / open, 3),
    ...stats,
  };
}
