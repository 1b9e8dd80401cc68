import type { Market } from "../market";
import {
  candleView,
  depthView,
  tickerView,
  type CandleView,
  type DepthView,
  type TickerView,
  type TradeView,
} from "../messages";
import { isInterval, type Candle, type Interval } from "./candles";
import { rollingTicker } from "./ticker";

export const MAX_DEPTH = 100;

/** Market data as REST and the sockets' snapshots read it: the engine's book and SQLite's history. */
export class MarketDataQueries {
  constructor(
    private readonly sql: SqlStorage,
    private readonly market: () => Market,
  ) {}

  /** The top `limit` levels of each side (the caller bounds it: MAX_DEPTH for clients). */
  depth(limit: number): DepthView | null {
    const m = this.market();
    if (!m.rules) return null;
    return depthView(m.symbol, m.rules.grid, m.depth.lastUpdateId, m.engine.depth(limit));
  }

  recentTrades(limit: number): TradeView[] {
    const m = this.market();
    if (!m.rules) return [];
    const n = Math.max(1, Math.min(1000, Math.floor(limit) || 100));
    const grid = m.rules.grid;
    const symbol = m.symbol;
    return this.sql
      .exec<{ id: number; ts: number; price: number; quantity: number; taker_side: "buy" | "sell" }>(
        "SELECT id, ts, price, quantity, taker_side FROM trades ORDER BY id DESC LIMIT ?",
        n,
      )
      .toArray()
      .map((t) => ({
        id: `${symbol}:${t.id}`,
        price: grid.price(t.price),
        quantity: grid.quantity(t.quantity),
        taker_side: t.taker_side,
        ts: t.ts,
      }));
  }

  candles(query: { interval: Interval; start?: number; end?: number; limit?: number }): CandleView[] {
    const m = this.market();
    if (!m.rules || !isInterval(query.interval)) return [];
    const grid = m.rules.grid;
    const n = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 500) || 500));
    const rows = this.sql
      .exec(
        `SELECT * FROM candles WHERE interval = ? AND start >= ? AND start <= ? ORDER BY start DESC LIMIT ?`,
        query.interval,
        query.start ?? 0,
        query.end ?? Number.MAX_SAFE_INTEGER,
        n,
      )
      .toArray()
      .reverse() as unknown as Candle[];
    return rows.map((c) => candleView(grid, c));
  }

  ticker(now: number): TickerView | null {
    const m = this.market();
    if (!m.rules) return null;
    const stats = rollingTicker(m.candles.minutes, now, m.engine.lastTradePrice() ?? 0);
    return tickerView(m.symbol, m.rules.grid, stats, m.engine.bestBid(), m.engine.bestAsk(), now);
  }
}
