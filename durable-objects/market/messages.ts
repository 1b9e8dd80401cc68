// Engine units → the wire shapes of SPEC.md (REST and WebSocket), decimal strings throughout.

import type { Depth } from "../engine";
import { INTERVALS, type Candle } from "./market-data/candles";
import type { DepthUpdate } from "./market-data/depth-feed";
import type { TickerStats } from "./market-data/ticker";
import type { MarketGrid } from "../../src/domain/market/units";

export type Level = [price: string, quantity: string];

export interface DepthView {
  symbol: string;
  last_update_id: number;
  bids: Level[];
  asks: Level[];
}

export interface TradeView {
  id: string;
  price: string;
  quantity: string;
  taker_side: "buy" | "sell";
  ts: number;
}

export interface CandleView {
  interval: string;
  open_time: number;
  close_time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  trades: number;
}

export interface TickerView {
  symbol: string;
  last_price: string | null;
  open_price: string | null;
  high_price: string | null;
  low_price: string | null;
  volume: string;
  price_change: string;
  price_change_percent: string;
  trades: number;
  best_bid: string | null;
  best_ask: string | null;
  window_start: number;
  ts: number;
}

export function levels(grid: MarketGrid, side: [number, number][]): Level[] {
  return side.map(([p, q]) => [grid.price(p), grid.quantity(q)]);
}

export function depthView(symbol: string, grid: MarketGrid, lastUpdateId: number, depth: Depth): DepthView {
  return {
    symbol,
    last_update_id: lastUpdateId,
    bids: levels(grid, depth.bids),
    asks: levels(grid, depth.asks),
  };
}

export function depthUpdateFrame(channel: string, grid: MarketGrid, u: DepthUpdate): string {
  return JSON.stringify({
    type: "update",
    channel,
    first_update_id: u.firstUpdateId,
    last_update_id: u.lastUpdateId,
    bids: levels(grid, u.bids),
    asks: levels(grid, u.asks),
  });
}

export function candleView(grid: MarketGrid, c: Candle): CandleView {
  return {
    interval: c.interval,
    open_time: c.start,
    close_time: c.start + INTERVALS[c.interval] - 1,
    open: grid.price(c.open),
    high: grid.price(c.high),
    low: grid.price(c.low),
    close: grid.price(c.close),
    volume: grid.quantity(c.volume),
    trades: c.trades,
  };
}

/** Basis points as a percentage string with two decimals: -123 → "-1.23". */
export function bpsToPercent(bps: number): string {
  const sign = bps < 0 ? "-" : "";
  const abs = Math.abs(bps);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

export function tickerView(
  symbol: string,
  grid: MarketGrid,
  t: TickerStats,
  bestBid: number | null,
  bestAsk: number | null,
  now: number,
): TickerView {
  const traded = t.last !== 0;
  const change = t.last - t.open;
  return {
    symbol,
    last_price: traded ? grid.price(t.last) : null,
    open_price: traded ? grid.price(t.open) : null,
    high_price: traded ? grid.price(t.high) : null,
    low_price: traded ? grid.price(t.low) : null,
    volume: grid.quantity(t.volume),
    price_change: (change < 0 ? "-" : "") + grid.price(Math.abs(change)),
    price_change_percent: bpsToPercent(t.changeBps),
    trades: t.trades,
    best_bid: bestBid === null ? null : grid.price(bestBid),
    best_ask: bestAsk === null ? null : grid.price(bestAsk),
    window_start: t.windowStart,
    ts: now,
  };
}
