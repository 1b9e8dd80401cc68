import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { marketRulesOf, toBookRules, type BookRules, type MarketStatus } from "../domain/market/market-rules";
import { minorToDecimal, placesOf } from "../domain/market/units";
import { percentPriceView, type PercentPriceView } from "../domain/market/percent-price";
import type { OrderBook } from "../../durable-objects/order-book";
import type { Database } from "../db/client";
import { assets, markets } from "../db/schema";
import { cacheAside, invalidate } from "../lib/cache";
import { AppError, ErrorCode } from "../lib/errors";
import type { Logger } from "../lib/logger";

/** Cache lifetimes: market data changes every trade, so only a burst of identical reads is absorbed. */
export const CACHE_TTL_MS = {
  markets: 30_000,
  depth: 500,
  trades: 1_000,
  ticker: 1_000,
  candles: 2_000,
} as const;

export const cacheKey = {
  markets: () => "markets:v1:list",
  depth: (symbol: string, limit: number) => `markets:v1:${symbol}:depth:${limit}`,
  trades: (symbol: string, limit: number) => `markets:v1:${symbol}:trades:${limit}`,
  ticker: (symbol: string) => `markets:v1:${symbol}:ticker`,
  candles: (symbol: string, q: string) => `markets:v1:${symbol}:candles:${q}`,
};

/** A market as REST shows it: sizes as decimal strings in the asset's units. */
export interface MarketView {
  symbol: string;
  base_asset: string;
  quote_asset: string;
  status: MarketStatus;
  tick_size: string;
  lot_size: string;
  min_quantity: string;
  max_quantity: string;
  min_notional: string;
  maker_fee_bps: number;
  taker_fee_bps: number;
  price_decimals: number;
  quantity_decimals: number;
  percent_price: PercentPriceView | null;
  /** At most this many live orders per account in the market; null: no cap. */
  max_open_orders: number | null;
}

export function marketView(r: BookRules): MarketView {
  const base = (v: string) => minorToDecimal(BigInt(v), r.baseDecimals);
  const quote = (v: string) => minorToDecimal(BigInt(v), r.quoteDecimals);
  return {
    symbol: r.symbol,
    base_asset: r.baseAsset,
    quote_asset: r.quoteAsset,
    status: r.status,
    tick_size: quote(r.tickSize),
    lot_size: base(r.lotSize),
    min_quantity: base(r.minQuantity),
    max_quantity: base(r.maxQuantity),
    min_notional: quote(r.minNotional),
    maker_fee_bps: r.makerFeeBps,
    taker_fee_bps: r.takerFeeBps,
    price_decimals: placesOf(BigInt(r.tickSize), r.quoteDecimals),
    quantity_decimals: placesOf(BigInt(r.lotSize), r.baseDecimals),
    percent_price: percentPriceView(r.percentPrice ?? null),
    max_open_orders: r.maxOpenOrders ?? null,
  };
}

export const marketNotFound = (symbol: string) =>
  new AppError(404, ErrorCode.MARKET_NOT_FOUND, `No market ${symbol}`);

/** Every market's rules from Postgres (the record of account), with asset decimals. */
export async function readBookRules(db: Database, symbol?: string): Promise<BookRules[]> {
  const base = alias(assets, "base");
  const quote = alias(assets, "quote");
  const query = db
    .select({ m: markets, baseDecimals: base.decimals, quoteDecimals: quote.decimals })
    .from(markets)
    .innerJoin(base, eq(base.code, markets.baseAsset))
    .innerJoin(quote, eq(quote.code, markets.quoteAsset));
  const rows = await (symbol ? query.where(eq(markets.symbol, symbol)) : query).orderBy(markets.symbol);
  return rows.map(({ m, baseDecimals, quoteDecimals }) =>
    toBookRules(marketRulesOf(m, baseDecimals, quoteDecimals)),
  );
}

export type OrderBookStub = DurableObjectStub<OrderBook>;

/** Most market ids one isolate keeps per namespace (symbols come from requests): then it starts over. */
const MAX_KEPT_IDS = 1_000;
const bookIds = new WeakMap<DurableObjectNamespace, Map<string, DurableObjectId>>();

/**
 * The market's object id: `idFromName` hashes the name each call (an HMAC), and an id is the same
 * every time and no I/O object (a stub is: it belongs to the request that made it), so each
 * isolate keeps the ids it made, per namespace.
 */
export function bookId(namespace: DurableObjectNamespace, symbol: string): DurableObjectId {
  let ids = bookIds.get(namespace);
  if (!ids) bookIds.set(namespace, (ids = new Map()));
  let id = ids.get(symbol);
  if (!id) {
    if (ids.size >= MAX_KEPT_IDS) ids.clear();
    ids.set(symbol, (id = namespace.idFromName(symbol)));
  }
  return id;
}

/** The market's order book object (one per symbol). */
export function orderBook(env: Env, symbol: string): OrderBookStub {
  return env.ORDER_BOOK.get(bookId(env.ORDER_BOOK, symbol)) as OrderBookStub;
}

/**
 * Hands the object its rules from Postgres (first use of a market, an admin creating or changing
 * one); a market that lives in Postgres is settled by its object (durable-objects/market/settler.ts).
 * Its refusal (e.g. a tick change on a live book) is a 409.
 */
export async function configureOrderBook(env: Env, rules: BookRules): Promise<void> {
  const result = await orderBook(env, rules.symbol).configure(rules, { selfSettle: true });
  if (!result.ok)
    throw new AppError(409, ErrorCode.CONFLICT, `The order book refused the rules: ${result.message}`);
}

/**
 * Calls the market's object; when it answers null (it has no rules: a market's first use, its
 * storage reset) it is configured from Postgres and asked again. The rules are read now, never
 * from a cache: a market halted a moment ago must not come back active. Unknown symbols are a 404.
 */
export async function withBook<T>(
  env: Env,
  db: () => Database,
  symbol: string,
  call: (book: DurableObjectStub<OrderBook>) => Promise<T | null>,
): Promise<T> {
  const book = orderBook(env, symbol);
  const first = await call(book);
  if (first !== null) return first;
  const [rules] = await readBookRules(db(), symbol);
  if (!rules) throw marketNotFound(symbol);
  await configureOrderBook(env, rules);
  const second = await call(book);
  if (second === null) throw marketNotFound(symbol);
  return second;
}

export async function listMarkets(db: () => Database, redis: Redis, log?: Logger): Promise<MarketView[]> {
  return cacheAside(redis, log, cacheKey.markets(), CACHE_TTL_MS.markets, async () =>
    (await readBookRules(db())).map(marketView),
  );
}

export async function invalidateMarketCaches(
  redis: Redis,
  log: Logger | undefined,
  symbol: string,
): Promise<number> {
  const keys = [cacheKey.markets(), cacheKey.ticker(symbol)];
  for (const limit of [5, 10, 20, 50, 100]) keys.push(cacheKey.depth(symbol, limit));
  return invalidate(redis, log, ...keys);
}
