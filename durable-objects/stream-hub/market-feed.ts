import type { CandleView, Level, TickerView } from "../market/messages";
import {
  aggTradePayload,
  bookTickerPayload,
  depthUpdatePayload,
  klinePayload,
  miniTickerPayload,
  partialDepthPayload,
  tickerPayload,
  tradePayload,
  type DepthDiff,
} from "../../src/binance/streams/payloads";
import type { HubSockets, HubStream } from "./hub-sockets";
import type { BookTop, MarketStreamEvent, MarketStreamState } from "./market-event";
import { PushWindow } from "./push-window";

const LEVELS = [5, 10, 20] as const;

function mergeDiffs(a: DepthDiff, b: DepthDiff): DepthDiff {
  const side = (x: Level[], y: Level[]) => [...new Map([...x, ...y])];
  return { first: a.first, last: b.last, bids: side(a.bids, b.bids), asks: side(a.asks, b.asks) };
}

/**
 * One market inside a hub: its latest state (book top, ticker, candles) and the Binance
 * streams built from its events, each payload once per event for all its subscribers. Diff
 * and partial depth and the tickers keep Binance's push periods (PushWindow); trades, klines
 * and book tickers go out as they come.
 */
export class MarketFeed {
  /** Binance's symbol (`BTCUSDT`) and its lower-case stream prefix. */
  readonly s: string;
  private readonly prefix: string;
  top: BookTop | null = null;
  ticker: TickerView | null = null;
  private readonly candles = new Map<string, CandleView>();
  private lastQty = "0";
  private lastBest = "";
  private readonly windows = new Map<string, PushWindow<never>>();

  constructor(
    readonly symbol: string,
    private readonly sockets: HubSockets,
    /** A changed ticker, for the all-market streams. */
    private readonly onTicker: (feed: MarketFeed) => void,
  ) {
    this.s = symbol.replace("-", "");
    this.prefix = this.s.toLowerCase();
  }

  /** The state an attach returned (or a newer event's, whichever is later). */
  init(state: MarketStreamState): void {
    if (!this.top || state.top.lastUpdateId >= this.top.lastUpdateId) this.top = state.top;
    if (!this.ticker || state.ticker.ts >= this.ticker.ts) this.ticker = state.ticker;
    for (const c of state.candles) if (!this.candles.has(c.interval)) this.candles.set(c.interval, c);
  }

  apply(e: MarketStreamEvent, now: number): void {
    const p = this.prefix;
    if (e.trades) {
      for (const t of e.trades) {
        if (this.sockets.has(`${p}@trade`))
          this.sockets.broadcast(`${p}@trade`, tradePayload(this.s, t, now));
        if (this.sockets.has(`${p}@aggTrade`))
          this.sockets.broadcast(`${p}@aggTrade`, aggTradePayload(this.s, t, now));
      }
      this.lastQty = e.trades[e.trades.length - 1]!.quantity;
    }
    if (e.depth) {
      const diff: DepthDiff = e.depth;
      for (const name of [`${p}@depth`, `${p}@depth@100ms`, `${p}@depth@1000ms`]) {
        if (this.sockets.has(name)) this.window<DepthDiff>(name, mergeDiffs).push(diff, now);
      }
    }
    if (e.top) {
      this.top = e.top;
      for (const levels of LEVELS) {
        for (const name of [
          `${p}@depth${levels}`,
          `${p}@depth${levels}@100ms`,
          `${p}@depth${levels}@1000ms`,
        ]) {
          if (this.sockets.has(name)) this.window<BookTop>(name).push(e.top, now);
        }
      }
      const best = `${e.top.bids[0]?.join()}|${e.top.asks[0]?.join()}`;
      if (best !== this.lastBest) {
        this.lastBest = best;
        if (this.sockets.has(`${p}@bookTicker`))
          this.sockets.broadcast(`${p}@bookTicker`, bookTickerPayload(this.s, e.top));
      }
    }
    if (e.ticker) {
      this.ticker = e.ticker;
      for (const name of [`${p}@ticker`, `${p}@miniTicker`]) {
        if (this.sockets.has(name)) this.window<TickerView>(name).push(e.ticker, now);
      }
      this.onTicker(this);
    }
    for (const c of e.candles ?? []) {
      this.candles.set(c.interval, c);
      const name = `${p}@kline_${c.interval}`;
      if (this.sockets.has(name)) this.sockets.broadcast(name, klinePayload(this.s, c, now));
    }
  }

  /** The payload of a stream now, sent to a socket right after it subscribes (null: nothing yet). */
  current(x: HubStream, now: number): unknown {
    switch (x.kind) {
      case "partialDepth":
        return this.top ? partialDepthPayload(this.top, x.levels!) : null;
      case "bookTicker":
        return this.top ? bookTickerPayload(this.s, this.top) : null;
      case "ticker":
        return this.tickerNow(now);
      case "miniTicker":
        return this.ticker ? miniTickerPayload(this.s, this.ticker, now) : null;
      case "kline": {
        const c = this.candles.get(x.interval!);
        return c ? klinePayload(this.s, c, now) : null;
      }
      default:
        return null;
    }
  }

  tickerNow(now: number) {
    return this.ticker ? tickerPayload(this.s, this.ticker, this.top, this.lastQty, now) : null;
  }

  miniTickerNow(now: number) {
    return this.ticker ? miniTickerPayload(this.s, this.ticker, now) : null;
  }

  /** Drops what is waiting for a period's end (the hub no longer reads this market). */
  close(): void {
    for (const w of this.windows.values()) w.clear();
  }

  private window<T>(name: string, merge?: (a: T, b: T) => T): PushWindow<T> {
    let w = this.windows.get(name) as PushWindow<T> | undefined;
    if (!w) {
      // Every windowed stream pushes each second unless its name asks for 100 ms.
      const period = name.endsWith("@100ms") ? 100 : 1000;
      w = new PushWindow<T>(period, (v) => this.emit(name, v as never), merge);
      this.windows.set(name, w as unknown as PushWindow<never>);
    }
    return w;
  }

  private emit(name: string, value: unknown): void {
    const now = Date.now();
    const p = this.prefix;
    if (name === `${p}@ticker`) this.sockets.broadcast(name, this.tickerNow(now));
    else if (name === `${p}@miniTicker`) this.sockets.broadcast(name, this.miniTickerNow(now));
    else if (name.startsWith(`${p}@depth@`) || name === `${p}@depth`)
      this.sockets.broadcast(name, depthUpdatePayload(this.s, now, value as DepthDiff));
    else {
      const levels = Number(/^[^@]+@depth(\d+)/.exec(name)![1]);
      this.sockets.broadcast(name, partialDepthPayload(value as BookTop, levels));
    }
  }
}
