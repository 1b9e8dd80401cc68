// What a market's object sends the stream hubs that subscribed to it: one event per batch of
// commands, formatted once (decimal strings) for every hub and every client.
import type { CandleView, Level, TickerView } from "../market/messages";

export interface StreamTrade {
  /** The trade's number in its market (Binance's trade id). */
  id: number;
  price: string;
  quantity: string;
  buyerMaker: boolean;
  ts: number;
}

/** The top 20 levels a side after an update: partial depth and book tickers come from it. */
export interface BookTop {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

export interface MarketStreamEvent {
  /** Pandora's symbol (`BTC-USDT`). */
  symbol: string;
  /** When the batch ran in the object (its acceptance time). */
  ts: number;
  /** The batch's depth changes, `first..last` update ids (contiguous with the previous event's). */
  depth?: { first: number; last: number; bids: Level[]; asks: Level[] };
  top?: BookTop;
  trades?: StreamTrade[];
  ticker?: TickerView;
  /** The open candle of every interval a trade touched. */
  candles?: CandleView[];
}

/** What a hub gets when it attaches to a market: the current state; events follow. */
export interface MarketStreamState {
  symbol: string;
  ts: number;
  top: BookTop;
  ticker: TickerView;
  candles: CandleView[];
}

/** How deep `top` goes: the deepest partial depth stream. */
export const TOP_LEVELS = 20;
