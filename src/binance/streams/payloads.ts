// Binance's stream payloads (web-socket-streams.md) from a market's stream event. Pure: the
// hub builds each once per event and stream, whatever the number of subscribers.
import type { CandleView, Level, TickerView } from "../../../durable-objects/market/messages";
import type { BookTop, StreamTrade } from "../../../durable-objects/stream-hub/market-event";

const ZERO = "0";

export const tradePayload = (s: string, t: StreamTrade, E: number) => ({
  e: "trade",
  E,
  s,
  t: t.id,
  p: t.price,
  q: t.quantity,
  T: t.ts,
  m: t.buyerMaker,
  M: true,
});

/** The book keeps no aggregation: each trade is its own aggregate (as REST aggTrades answers). */
export const aggTradePayload = (s: string, t: StreamTrade, E: number) => ({
  e: "aggTrade",
  E,
  s,
  a: t.id,
  p: t.price,
  q: t.quantity,
  f: t.id,
  l: t.id,
  T: t.ts,
  m: t.buyerMaker,
  M: true,
});

export interface DepthDiff {
  first: number;
  last: number;
  bids: Level[];
  asks: Level[];
}

export const depthUpdatePayload = (s: string, E: number, d: DepthDiff) => ({
  e: "depthUpdate",
  E,
  s,
  U: d.first,
  u: d.last,
  b: d.bids,
  a: d.asks,
});

export const partialDepthPayload = (top: BookTop, levels: number) => ({
  lastUpdateId: top.lastUpdateId,
  bids: top.bids.slice(0, levels),
  asks: top.asks.slice(0, levels),
});

export const bookTickerPayload = (s: string, top: BookTop) => ({
  u: top.lastUpdateId,
  s,
  b: top.bids[0]?.[0] ?? ZERO,
  B: top.bids[0]?.[1] ?? ZERO,
  a: top.asks[0]?.[0] ?? ZERO,
  A: top.asks[0]?.[1] ?? ZERO,
});

/** Quote volumes are not kept by the candles: `q` (and `w`) are "0", as in REST klines. */
export const miniTickerPayload = (s: string, t: TickerView, E: number) => ({
  e: "24hrMiniTicker",
  E,
  s,
  c: t.last_price ?? ZERO,
  o: t.open_price ?? ZERO,
  h: t.high_price ?? ZERO,
  l: t.low_price ?? ZERO,
  v: t.volume,
  q: ZERO,
});

export const tickerPayload = (s: string, t: TickerView, top: BookTop | null, lastQty: string, E: number) => ({
  e: "24hrTicker",
  E,
  s,
  p: t.price_change,
  P: t.price_change_percent,
  w: ZERO,
  x: t.open_price ?? ZERO,
  c: t.last_price ?? ZERO,
  Q: lastQty,
  b: top?.bids[0]?.[0] ?? t.best_bid ?? ZERO,
  B: top?.bids[0]?.[1] ?? ZERO,
  a: top?.asks[0]?.[0] ?? t.best_ask ?? ZERO,
  A: top?.asks[0]?.[1] ?? ZERO,
  o: t.open_price ?? ZERO,
  h: t.high_price ?? ZERO,
  l: t.low_price ?? ZERO,
  v: t.volume,
  q: ZERO,
  O: t.window_start,
  C: t.ts,
  F: -1,
  L: -1,
  n: t.trades,
});

/** First and last trade ids and the quote and taker-buy volumes are not kept by the candles. */
export const klinePayload = (s: string, k: CandleView, E: number) => ({
  e: "kline",
  E,
  s,
  k: {
    t: k.open_time,
    T: k.close_time,
    s,
    i: k.interval,
    f: -1,
    L: -1,
    o: k.open,
    c: k.close,
    h: k.high,
    l: k.low,
    v: k.volume,
    n: k.trades,
    x: E > k.close_time,
    q: ZERO,
    V: ZERO,
    Q: ZERO,
    B: ZERO,
  },
});
