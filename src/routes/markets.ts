import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { authenticate } from "../middleware/authenticate";
import { INTERVAL_NAMES, type Interval } from "../../durable-objects/market/market-data/candles";
import { OWNER_HEADER, type SocketOwner } from "../../durable-objects/market/ws/protocol";
import { getDb, getRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { createRouter } from "../http/router";
import { cacheAside } from "../lib/cache";
import { badRequest } from "../lib/errors";
import type { DepthView } from "../../durable-objects/market/messages";
import type { OrderBook } from "../../durable-objects/order-book";
import {
  CACHE_TTL_MS,
  orderBook,
  cacheKey,
  listMarkets,
  marketNotFound,
  withBook,
} from "../services/markets";
import { routeGroup } from "./route-group";
import { jsonReply } from "./user-schemas";

const Decimal = z.string().openapi({ example: "64000.10" });
const Level = z.tuple([Decimal, Decimal]);
const Multiplier = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,4})?$/, "a decimal multiplier such as 0.8 or 1.25")
  .openapi({ example: "1.2" });

/**
 * The percent price filter (Binance's PERCENT_PRICE_BY_SIDE against the last price): a buy's
 * limit price must lie within [bid_multiplier_down, bid_multiplier_up] × the last trade price,
 * a sell's within the ask multipliers. No trade yet: every price passes.
 */
export const PercentPriceSchema = z
  .object({
    bid_multiplier_up: Multiplier,
    bid_multiplier_down: Multiplier,
    ask_multiplier_up: Multiplier,
    ask_multiplier_down: Multiplier,
  })
  .strict()
  .openapi("PercentPrice");

export const MarketSchema = z
  .object({
    symbol: z.string().openapi({ example: "BTC-USDT" }),
    base_asset: z.string(),
    quote_asset: z.string(),
    status: z.enum(["trading", "halted", "cancel-only"]),
    tick_size: Decimal,
    lot_size: Decimal,
    min_quantity: Decimal,
    max_quantity: Decimal,
    min_notional: Decimal,
    maker_fee_bps: z.number().int(),
    taker_fee_bps: z.number().int(),
    price_decimals: z.number().int(),
    quantity_decimals: z.number().int(),
    percent_price: PercentPriceSchema.nullable(),
    max_open_orders: z.number().int().nullable().openapi({
      description: "At most this many live orders (resting and pending stops) per account; null: no cap",
    }),
  })
  .openapi("Market");

const DepthSchema = z
  .object({
    symbol: z.string(),
    last_update_id: z.number().int(),
    bids: z.array(Level),
    asks: z.array(Level),
  })
  .openapi("Depth");
const TradeSchema = z
  .object({
    id: z.string(),
    price: Decimal,
    quantity: Decimal,
    taker_side: z.enum(["buy", "sell"]),
    ts: z.number(),
  })
  .openapi("Trade");
const CandleSchema = z
  .object({
    interval: z.string(),
    open_time: z.number(),
    close_time: z.number(),
    open: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
    trades: z.number().int(),
  })
  .openapi("Candle");
const TickerSchema = z
  .object({
    symbol: z.string(),
    last_price: Decimal.nullable(),
    open_price: Decimal.nullable(),
    high_price: Decimal.nullable(),
    low_price: Decimal.nullable(),
    volume: Decimal,
    price_change: Decimal,
    price_change_percent: z.string().openapi({ example: "-1.25" }),
    trades: z.number().int(),
    best_bid: Decimal.nullable(),
    best_ask: Decimal.nullable(),
    window_start: z.number(),
    ts: z.number(),
  })
  .openapi("Ticker");

export const SymbolParam = z.object({
  symbol: z
    .string()
    .regex(/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/)
    .openapi({ param: { name: "symbol", in: "path" }, example: "BTC-USDT" }),
});

/** Public routes: a market named in the path may be malformed (400) or unknown (404). */
const markets = routeGroup({ tags: ["Markets"] });
const marketData = routeGroup({ tags: ["Market data"], errors: [400, 404] });

const listRoute = markets.get("/api/v1/markets", {
  summary: "All markets and their rules",
  reply: { 200: jsonReply("Markets", z.object({ markets: z.array(MarketSchema) })) },
});

const getRoute = markets.get("/api/v1/markets/{symbol}", {
  summary: "One market and its rules",
  request: { params: SymbolParam },
  reply: { 200: jsonReply("The market", z.object({ market: MarketSchema })) },
  errors: [400, 404],
});

const DEPTH_LIMITS = ["5", "10", "20", "50", "100"] as const;
const depthRoute = marketData.get("/api/v1/markets/{symbol}/depth", {
  summary: "Order book depth (aggregated levels) with the update id to align WebSocket diffs",
  request: {
    params: SymbolParam,
    query: z.object({ limit: z.enum(DEPTH_LIMITS).default("100").openapi({ example: "20" }) }),
  },
  reply: { 200: jsonReply("Depth", DepthSchema) },
});

const tradesRoute = marketData.get("/api/v1/markets/{symbol}/trades", {
  summary: "Recent trades, newest first",
  request: {
    params: SymbolParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
  },
  reply: { 200: jsonReply("Trades", z.object({ symbol: z.string(), trades: z.array(TradeSchema) })) },
});

const candlesRoute = marketData.get("/api/v1/markets/{symbol}/candles", {
  summary: "OHLCV candles, oldest first (start/end are open times in ms since the epoch)",
  request: {
    params: SymbolParam,
    query: z.object({
      interval: z.enum(INTERVAL_NAMES as [Interval, ...Interval[]]).openapi({ example: "1m" }),
      start: z.coerce.number().int().min(0).optional(),
      end: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(500),
    }),
  },
  reply: {
    200: jsonReply(
      "Candles",
      z.object({ symbol: z.string(), interval: z.string(), candles: z.array(CandleSchema) }),
    ),
  },
});

const tickerRoute = marketData.get("/api/v1/markets/{symbol}/ticker", {
  summary: "Rolling 24 h ticker (from one-minute candles) with the best bid and ask",
  request: { params: SymbolParam },
  reply: { 200: jsonReply("Ticker", TickerSchema) },
});

/**
 * A socket opened with credentials (a Bearer access token, or API-key signature headers over
 * this GET, which serve as the signed ticket) belongs to its user and may subscribe to `orders`.
 * Without credentials the socket is public; browsers authenticate later with an `auth` message.
 */
const readAuthentication = authenticate({ permission: "read" });
const optionalAuthentication: MiddlewareHandler<AppEnv> = (c, next) =>
  c.req.header("authorization") || c.req.header("x-api-key") ? readAuthentication(c, next) : next();

const wsRoute = marketData.get("/api/v1/ws", {
  summary: "WebSocket stream of one market (protocol: docs/websocket.md)",
  description:
    "Upgrade with `?market=BTC-USDT`; then subscribe to depth, trades, ticker and candles:<interval> channels, and once authenticated to orders and balances.",
  request: {
    query: z.object({ market: SymbolParam.shape.symbol.openapi({ param: { name: "market", in: "query" } }) }),
  },
  middleware: [optionalAuthentication],
  reply: { 101: { description: "Switching protocols" } },
  errors: [401, 403],
});

/** Market data: from the cache while fresh, else read from the market's book (configured on first use). */
function cachedBookRead<T>(
  c: Context<AppEnv>,
  symbol: string,
  cache: { key: string; ttlMs: number },
  read: (book: DurableObjectStub<OrderBook>) => Promise<T | null>,
): Promise<T> {
  return cacheAside(getRedis(c), c.get("log"), cache.key, cache.ttlMs, () =>
    withBook(c.env, () => getDb(c), symbol, read),
  );
}

export const marketRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const markets = await listMarkets(() => getDb(c), getRedis(c), c.get("log"));
    return c.json({ markets }, 200);
  })
  .openapi(getRoute, async (c) => {
    const { symbol } = c.req.valid("param");
    const market = (await listMarkets(() => getDb(c), getRedis(c), c.get("log"))).find(
      (m) => m.symbol === symbol,
    );
    if (!market) throw marketNotFound(symbol);
    return c.json({ market }, 200);
  })
  .openapi(depthRoute, async (c) => {
    const { symbol } = c.req.valid("param");
    const limit = Number(c.req.valid("query").limit);
    const depth = await cachedBookRead(
      c,
      symbol,
      { key: cacheKey.depth(symbol, limit), ttlMs: CACHE_TTL_MS.depth },
      (book) => book.depth(limit) as Promise<DepthView | null>,
    );
    return c.json(depth, 200);
  })
  .openapi(tradesRoute, async (c) => {
    const { symbol } = c.req.valid("param");
    const { limit } = c.req.valid("query");
    const trades = await cachedBookRead(
      c,
      symbol,
      { key: cacheKey.trades(symbol, limit), ttlMs: CACHE_TTL_MS.trades },
      async (book) => ((await book.getRules()) ? book.trades(limit) : null),
    );
    return c.json({ symbol, trades }, 200);
  })
  .openapi(candlesRoute, async (c) => {
    const { symbol } = c.req.valid("param");
    const q = c.req.valid("query");
    if (q.start !== undefined && q.end !== undefined && q.end < q.start)
      throw badRequest("end is before start");
    const key = cacheKey.candles(symbol, `${q.interval}:${q.start ?? ""}:${q.end ?? ""}:${q.limit}`);
    const candles = await cachedBookRead(c, symbol, { key, ttlMs: CACHE_TTL_MS.candles }, async (book) =>
      (await book.getRules()) ? book.candles(q) : null,
    );
    return c.json({ symbol, interval: q.interval, candles }, 200);
  })
  .openapi(tickerRoute, async (c) => {
    const { symbol } = c.req.valid("param");
    const ticker = await cachedBookRead(
      c,
      symbol,
      { key: cacheKey.ticker(symbol), ttlMs: CACHE_TTL_MS.ticker },
      (book) => book.ticker(),
    );
    return c.json(ticker, 200);
  })
  .openapi(wsRoute, async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
      throw badRequest("Expected a WebSocket upgrade");
    const { market } = c.req.valid("query");
    // Make sure the object knows its rules (404 for unknown markets) before handing it the socket.
    await withBook(
      c.env,
      () => getDb(c),
      market,
      (book) => book.getRules(),
    );
    // Who opened it travels with the socket: the principal (order entry checks its
    // permissions and KYC) and the client's address (audit rows of the orders it places).
    const owner: SocketOwner = { principal: c.get("principal") ?? null, client: requestMetadata(c) };
    const headers = new Headers({ Upgrade: "websocket", [OWNER_HEADER]: JSON.stringify(owner) });
    return orderBook(c.env, market).fetch(new Request(c.req.url, { headers }));
  });
