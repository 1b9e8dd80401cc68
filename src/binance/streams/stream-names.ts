import { INTERVAL_NAMES, type Interval } from "../../../durable-objects/market/market-data/candles";

/** What a market stream carries (web-socket-streams.md, "Detailed Stream information"). */
export type StreamKind =
  | "trade"
  | "aggTrade"
  | "kline"
  | "miniTicker"
  | "ticker"
  | "bookTicker"
  | "depth"
  | "partialDepth"
  | "allMiniTickers"
  | "allTickers";

export interface ParsedStream {
  /** The canonical name (lowercase symbol), as LIST_SUBSCRIPTIONS and the combined `stream` field show it. */
  name: string;
  kind: StreamKind;
  /** Binance's symbol, upper case (`BTCUSDT`); null for the all-market `!…@arr` streams. */
  symbol: string | null;
  interval?: Interval;
  /** 5, 10 or 20 for `@depth<levels>`. */
  levels?: 5 | 10 | 20;
  /** Push period of depth streams: 100 (`@100ms`) or 1000 ms. */
  periodMs?: 100 | 1000;
}

/** A connection listens to at most this many streams, as on Binance. */
export const MAX_STREAMS = 1024;

const SYMBOL = /^[A-Za-z0-9]{2,20}$/;
const SIMPLE: Record<string, StreamKind> = {
  trade: "trade",
  aggTrade: "aggTrade",
  miniTicker: "miniTicker",
  ticker: "ticker",
  bookTicker: "bookTicker",
};

/**
 * `btcusdt@trade`, `btcusdt@depth@100ms`, `btcusdt@depth10`, `btcusdt@kline_1m`,
 * `!ticker@arr`, …; null for anything else. Symbols are matched case-insensitively (Binance
 * writes them lower case); kline intervals are those the market keeps candles for.
 */
export function parseStream(raw: unknown): ParsedStream | null {
  if (typeof raw !== "string" || raw.length > 64) return null;
  if (raw === "!miniTicker@arr") return { name: raw, kind: "allMiniTickers", symbol: null };
  if (raw === "!ticker@arr") return { name: raw, kind: "allTickers", symbol: null };
  const [sym, channel, speed, ...rest] = raw.split("@");
  if (!sym || !channel || rest.length || !SYMBOL.test(sym)) return null;
  const symbol = sym.toUpperCase();
  // The name as sent, its symbol lower case (one subscription whatever the client's case).
  const name = sym.toLowerCase() + raw.slice(sym.length);
  const simple = SIMPLE[channel];
  if (simple && speed === undefined) return { name, kind: simple, symbol };
  if (channel.startsWith("kline_") && speed === undefined) {
    const interval = channel.slice("kline_".length) as Interval;
    if (!INTERVAL_NAMES.includes(interval)) return null;
    return { name, kind: "kline", symbol, interval };
  }
  const depth = /^depth(5|10|20)?$/.exec(channel);
  if (depth && (speed === undefined || speed === "100ms" || speed === "1000ms")) {
    const periodMs = speed === "100ms" ? 100 : 1000;
    if (!depth[1]) return { name, kind: "depth", symbol, periodMs };
    return { name, kind: "partialDepth", symbol, periodMs, levels: Number(depth[1]) as 5 | 10 | 20 };
  }
  return null;
}
