import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { INTERVAL_NAMES, type Interval } from "../../../durable-objects/market/market-data/candles";
import type { DepthView, TickerView, TradeView } from "../../../durable-objects/market/messages";
import type { OrderBook } from "../../../durable-objects/order-book";
import { defaultOrderLimits } from "../../domain/market/order-limits";
import type { AppEnv } from "../../http/app-env";
import { getDb } from "../../http/resources";
import { formatUnits, parseUnits } from "../../lib/money";
import { withBook } from "../../services/markets";
import { loadAllMarketRules } from "../../services/trading/market-directory";
import type { MarketRules } from "../../domain/market/market-rules";
import { BinanceError, eitherMandatory, illegalChars } from "../binance-errors";
import { binanceRoute } from "../openapi";
import { P, binanceParams } from "../params";
import { DERIVED_INTERVALS, mergeCandles } from "../kline-intervals";
import { rollingTicker, windowCandles, windowSizeMs } from "../rolling-ticker";
import { createBinanceRouter } from "../binance-router";
import { binanceSymbol, marketRulesOf, marketSymbol } from "../symbols";
import { historicalTrades } from "../trade-history";
import { binanceKline, binanceTrade, quoteValue } from "../views";
import { exchangeInfo } from "./exchange-info";

type Ctx = Context<AppEnv>;

const book = <T>(c: Ctx, symbol: string, call: (b: DurableObjectStub<OrderBook>) => Promise<T | null>) =>
  withBook(c.env, () => getDb(c), symbol, call);

/** `symbols=["BTCUSDT","ETHUSDT"]` (Binance's JSON array in a parameter). */
function symbolList(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw illegalChars("symbols");
  }
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((s) => typeof s === "string" && P.symbol.safeParse(s).success)
  ) {
    throw illegalChars("symbols");
  }
  return list as string[];
}

/** The markets a ticker request names: one `symbol`, a `symbols` list, or every market. */
async function namedMarkets(c: Ctx, q: { symbol?: string; symbols?: string }): Promise<MarketRules[]> {
  const db = getDb(c);
  if (q.symbol) return [await marketRulesOf(db, q.symbol)];
  const list = symbolList(q.symbols);
  if (list) return Promise.all(list.map((s) => marketRulesOf(db, s)));
  return loadAllMarketRules(db);
}

const zeroPrice = (rules: MarketRules) => formatUnits(0n, rules.quoteDecimals);
const zeroQty = (rules: MarketRules) => formatUnits(0n, rules.baseDecimals);

/** Several markets' answers: an object for `symbol`, an array otherwise (as Binance answers). */
const oneOrMany = <T>(q: { symbol?: string }, rows: T[]) => (q.symbol ? rows[0] : rows);

const TickerQuery = z.object({ symbol: P.symbol.optional(), symbols: z.string().max(4000).optional() });
const tickerWeight = (perSymbol: number, all: number) => (q: Record<string, string>) =>
  q.symbol ? perSymbol : q.symbols ? Math.min(all, perSymbol * 2) : all;

async function bookTop(c: Ctx, symbol: string): Promise<{ ticker: TickerView; depth: DepthView }> {
  const [ticker, depth] = await Promise.all([
    book(c, symbol, (b) => b.ticker()),
    book(c, symbol, (b) => b.depth(1) as Promise<DepthView | null>),
  ]);
  return { ticker, depth };
}

function bookTicker(rules: MarketRules, depth: DepthView) {
  const [bid, ask] = [depth.bids[0], depth.asks[0]];
  return {
    symbol: binanceSymbol(rules.symbol),
    bidPrice: bid?.[0] ?? zeroPrice(rules),
    bidQty: bid?.[1] ?? zeroQty(rules),
    askPrice: ask?.[0] ?? zeroPrice(rules),
    askQty: ask?.[1] ?? zeroQty(rules),
  };
}

/** Σ(price × qty) / Σ qty of trades, in the quote's minor units, rounded down. */
function weightedPrice(rules: MarketRules, trades: TradeView[]): string {
  const qty = trades.reduce((s, t) => s + parseUnits(t.quantity, rules.baseDecimals), 0n);
  const value = trades.reduce((s, t) => s + quoteValue(rules, t.price, t.quantity), 0n);
  return formatUnits((value * 10n ** BigInt(rules.baseDecimals)) / qty, rules.quoteDecimals);
}

/** Depth weight by limit, as Binance charges it. */
const depthWeight = (q: Record<string, string>) => {
  const n = Number(q.limit ?? 100);
  return n <= 100 ? 5 : n <= 500 ? 25 : n <= 1000 ? 50 : 250;
};

const AggTradesQuery = z.object({
  symbol: P.symbol,
  fromId: P.int.optional(),
  startTime: P.int.optional(),
  endTime: P.int.optional(),
  limit: P.limit(1000).optional(),
});

/** Binance's intervals but 1s: the kept ones, and the others merged from a kept one. */
const KLINE_INTERVALS = [...INTERVAL_NAMES, ...Object.keys(DERIVED_INTERVALS)] as [string, ...string[]];

const KlineQuery = z.object({
  symbol: P.symbol,
  interval: z.enum(KLINE_INTERVALS),
  startTime: P.int.optional(),
  endTime: P.int.optional(),
  timeZone: z.string().max(10).optional(),
  limit: P.limit(1000).optional(),
});

async function klines(c: Ctx) {
  const q = await binanceParams(c, KlineQuery);
  const rules = await marketRulesOf(getDb(c), q.symbol);
  const limit = Number(q.limit ?? 500);
  const derived = DERIVED_INTERVALS[q.interval];
  const start = q.startTime === undefined ? undefined : Number(q.startTime);
  // A derived interval reads enough kept candles for `limit` of its own (at most 1,000).
  const read = derived ? Math.min(1000, limit * derived.per) : limit;
  const candles = await book(c, rules.symbol, async (b) =>
    (await b.getRules())
      ? b.candles({
          interval: derived ? derived.from : (q.interval as Interval),
          start: derived && start !== undefined ? derived.startOf(start) : start,
          end: q.endTime === undefined ? undefined : Number(q.endTime),
          limit: read,
        })
      : null,
  );
  if (!derived) return c.json(candles.map(binanceKline), 200);
  let merged = mergeCandles(candles, q.interval, derived, rules);
  // Cut by the read's limit, the oldest merged candle may lack its first part.
  if (start === undefined && candles.length === read && merged.length > 1) merged = merged.slice(1);
  return c.json((start === undefined ? merged.slice(-limit) : merged.slice(0, limit)).map(binanceKline), 200);
}

const AVG_PRICE_MINUTES = 5;

const RollingQuery = TickerQuery.extend({
  windowSize: z.string().max(3).optional(),
  type: z.string().max(20).optional(),
});

const HistoricalQuery = z.object({
  symbol: P.symbol,
  fromId: P.int.optional(),
  limit: P.limit(1000).optional(),
});

/** `klines` and `uiKlines`: one handler, two paths. */
const klineRoute = (path: string, summary: string) =>
  binanceRoute({ method: "get", path, summary, params: KlineQuery, weight: 2 });

export const marketDataRoutes = createBinanceRouter()
  .openapi(binanceRoute({ method: "get", path: "/ping", summary: "Test connectivity", weight: 1 }), (c) =>
    c.json({}, 200),
  )
  .openapi(binanceRoute({ method: "get", path: "/time", summary: "Server time (ms)", weight: 1 }), (c) =>
    c.json({ serverTime: Date.now() }, 200),
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/exchangeInfo",
      summary: "Every market (or `symbol` / `symbols`) with its filters, order types and the rate limits",
      params: z.object({ symbol: P.symbol.optional(), symbols: z.string().max(4000).optional() }),
      weight: 20,
    }),
    async (c) => {
      const q = await binanceParams(
        c,
        z.object({ symbol: P.symbol.optional(), symbols: z.string().max(4000).optional() }),
      );
      const wanted = q.symbol ? [q.symbol] : symbolList(q.symbols);
      const markets = await loadAllMarketRules(getDb(c));
      return c.json(exchangeInfo(markets, defaultOrderLimits(c.env), wanted), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/depth",
      summary:
        "Order book (at most 100 levels a side are kept in view; `lastUpdateId` aligns the diff stream)",
      params: z.object({ symbol: P.symbol, limit: P.limit(5000).optional() }),
      weight: depthWeight,
    }),
    async (c) => {
      const q = await binanceParams(c, z.object({ symbol: P.symbol, limit: P.limit(5000).optional() }));
      const symbol = await marketSymbol(getDb(c), q.symbol);
      const depth = await book(
        c,
        symbol,
        (b) => b.depth(Number(q.limit ?? 100)) as Promise<DepthView | null>,
      );
      return c.json({ lastUpdateId: depth.last_update_id, bids: depth.bids, asks: depth.asks }, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/trades",
      summary: "Recent trades, oldest first",
      params: z.object({ symbol: P.symbol, limit: P.limit(1000).optional() }),
      weight: 25,
    }),
    async (c) => {
      const q = await binanceParams(c, z.object({ symbol: P.symbol, limit: P.limit(1000).optional() }));
      const rules = await marketRulesOf(getDb(c), q.symbol);
      const trades = await book(c, rules.symbol, async (b) =>
        (await b.getRules()) ? b.trades(Number(q.limit ?? 500)) : null,
      );
      return c.json(
        trades.reverse().map((t) => binanceTrade(t, rules)),
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/aggTrades",
      summary:
        "Recent trades as aggregates (each trade its own: the book keeps no aggregation), oldest first",
      params: AggTradesQuery,
      weight: 4,
    }),
    async (c) => {
      const q = await binanceParams(c, AggTradesQuery);
      const rules = await marketRulesOf(getDb(c), q.symbol);
      const trades = await book(c, rules.symbol, async (b) => ((await b.getRules()) ? b.trades(1000) : null));
      const from = q.fromId === undefined ? undefined : Number(q.fromId);
      const [start, end] = [q.startTime, q.endTime].map((v) => (v === undefined ? undefined : Number(v)));
      const rows = trades
        .reverse()
        .map((t) => binanceTrade(t, rules))
        .filter(
          (t) =>
            (from === undefined || t.id >= from) &&
            (start === undefined || t.time >= start) &&
            (end === undefined || t.time <= end),
        );
      const limit = Number(q.limit ?? 500);
      const page = from === undefined && start === undefined ? rows.slice(-limit) : rows.slice(0, limit);
      return c.json(
        page.map((t) => ({
          a: t.id,
          p: t.price,
          q: t.qty,
          f: t.id,
          l: t.id,
          T: t.time,
          m: t.isBuyerMaker,
          M: true,
        })),
        200,
      );
    },
  )
  .openapi(
    klineRoute(
      "/klines",
      "Candles: every Binance interval but 1s (3m 30m 2h 6h 8h 12h 3d 1w 1M merged from the kept ones)",
    ),
    klines,
  )
  .openapi(klineRoute("/uiKlines", "Candles for charts (the same as klines here)"), klines)
  .openapi(
    binanceRoute({
      method: "get",
      path: "/avgPrice",
      summary: "Volume-weighted price of the last 5 minutes' trades (the last price when none)",
      params: z.object({ symbol: P.symbol }),
      weight: 2,
    }),
    async (c) => {
      const q = await binanceParams(c, z.object({ symbol: P.symbol }));
      const rules = await marketRulesOf(getDb(c), q.symbol);
      const now = Date.now();
      const [trades, ticker] = await Promise.all([
        book(c, rules.symbol, async (b) => ((await b.getRules()) ? b.trades(1000) : null)),
        book(c, rules.symbol, (b) => b.ticker()),
      ]);
      const recent = trades.filter((t) => t.ts >= now - AVG_PRICE_MINUTES * 60_000);
      const price =
        recent.length > 0 ? weightedPrice(rules, recent) : (ticker.last_price ?? zeroPrice(rules));
      return c.json({ mins: AVG_PRICE_MINUTES, price, closeTime: recent[0]?.ts ?? now }, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/ticker/24hr",
      summary: "Rolling 24 h statistics: one `symbol`, a `symbols` list, or every market",
      params: TickerQuery,
      weight: tickerWeight(2, 80),
    }),
    async (c) => {
      const q = await binanceParams(c, TickerQuery);
      const rows = await Promise.all(
        (await namedMarkets(c, q)).map(async (rules) => {
          const { ticker: t, depth } = await bookTop(c, rules.symbol);
          const zero = zeroPrice(rules);
          const top = bookTicker(rules, depth);
          return {
            symbol: top.symbol,
            priceChange: t.price_change,
            priceChangePercent: t.price_change_percent,
            prevClosePrice: t.open_price ?? zero,
            lastPrice: t.last_price ?? zero,
            bidPrice: top.bidPrice,
            bidQty: top.bidQty,
            askPrice: top.askPrice,
            askQty: top.askQty,
            openPrice: t.open_price ?? zero,
            highPrice: t.high_price ?? zero,
            lowPrice: t.low_price ?? zero,
            volume: t.volume,
            openTime: t.window_start,
            closeTime: t.ts,
            firstId: -1,
            lastId: -1,
            count: t.trades,
          };
        }),
      );
      return c.json(oneOrMany(q, rows), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/ticker",
      summary:
        "Rolling-window statistics (`windowSize` 1m…59m, 1h…23h, 1d…7d; `type` FULL or MINI) for `symbol` or `symbols`",
      description:
        "Read from the market's candles: one-minute ones up to 1,000 minutes, five-minute ones up to 5,000, fifteen-minute ones beyond; the window opens at the start of its first candle.",
      params: RollingQuery,
      weight: (q) => (q.symbol ? 4 : Math.min(200, 4 * (q.symbols?.split(",").length ?? 1))),
    }),
    async (c) => {
      const q = await binanceParams(c, RollingQuery);
      if (!q.symbol && !q.symbols) throw eitherMandatory("symbol", "symbols");
      const type = q.type ?? "FULL";
      if (type !== "FULL" && type !== "MINI") throw new BinanceError(400, -1139, "Invalid ticker type.");
      const windowMs = windowSizeMs(q.windowSize);
      const rows = await Promise.all(
        (await namedMarkets(c, q)).map(async (rules) => {
          const now = Date.now();
          const { interval, openTime } = windowCandles(windowMs, now);
          const [candles, ticker] = await Promise.all([
            book(c, rules.symbol, async (b) =>
              (await b.getRules()) ? b.candles({ interval, start: openTime, end: now, limit: 1000 }) : null,
            ),
            book(c, rules.symbol, (b) => b.ticker()),
          ]);
          return rollingTicker(rules, candles, ticker.last_price, { openTime, closeTime: now }, type);
        }),
      );
      return c.json(oneOrMany(q, rows), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/historicalTrades",
      summary: "Older trades from `fromId` on (or the most recent), oldest first; needs an API key",
      description:
        "From Postgres, where settlement records every trade moments after the book matched it (GET /trades reads the book's latest 1,000).",
      params: HistoricalQuery,
      weight: 25,
      apiKey: true,
    }),
    async (c) => {
      const q = await binanceParams(c, HistoricalQuery);
      const db = getDb(c);
      const rules = await marketRulesOf(db, q.symbol);
      return c.json(
        await historicalTrades(db, rules, {
          fromId: q.fromId === undefined ? undefined : Number(q.fromId),
          limit: Number(q.limit ?? 500),
        }),
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/ticker/price",
      summary: "Last price: one `symbol`, a `symbols` list, or every market",
      params: TickerQuery,
      weight: tickerWeight(2, 4),
    }),
    async (c) => {
      const q = await binanceParams(c, TickerQuery);
      const rows = await Promise.all(
        (await namedMarkets(c, q)).map(async (rules) => {
          const t = await book(c, rules.symbol, (b) => b.ticker());
          return { symbol: binanceSymbol(rules.symbol), price: t.last_price ?? zeroPrice(rules) };
        }),
      );
      return c.json(oneOrMany(q, rows), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/ticker/bookTicker",
      summary: "Best bid and ask: one `symbol`, a `symbols` list, or every market",
      params: TickerQuery,
      weight: tickerWeight(2, 4),
    }),
    async (c) => {
      const q = await binanceParams(c, TickerQuery);
      const rows = await Promise.all(
        (await namedMarkets(c, q)).map(async (rules) =>
          bookTicker(rules, await book(c, rules.symbol, (b) => b.depth(1) as Promise<DepthView | null>)),
        ),
      );
      return c.json(oneOrMany(q, rows), 200);
    },
  );
