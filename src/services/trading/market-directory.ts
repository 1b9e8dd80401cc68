import { alias } from "drizzle-orm/pg-core";
import { eq } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { assets, markets } from "../../db/schema";
import { AppError, ErrorCode } from "../../lib/errors";
import type { MarketRules as BookRules } from "../../../durable-objects/market/rules";
import { marketRulesOf, type MarketRules } from "./market-rules";

/** Rules change rarely (an admin halts a market); the order book enforces status on its own too. */
const CACHE_MS = 2_000;
const cache = new Map<string, { rules: MarketRules; at: number }>();

const base = alias(assets, "base");
const quote = alias(assets, "quote");

/** Every market's rules (Postgres is the record; the order books get a copy). */
export async function loadAllMarketRules(db: DbExecutor): Promise<MarketRules[]> {
  const rows = await db
    .select({ market: markets, baseDecimals: base.decimals, quoteDecimals: quote.decimals })
    .from(markets)
    .innerJoin(base, eq(base.code, markets.baseAsset))
    .innerJoin(quote, eq(quote.code, markets.quoteAsset));
  const now = Date.now();
  return rows.map((r) => {
    const rules = marketRulesOf(r.market, r.baseDecimals, r.quoteDecimals);
    cache.set(rules.symbol, { rules, at: now });
    return rules;
  });
}

export async function loadMarketRules(db: DbExecutor, symbol: string, fresh = false): Promise<MarketRules> {
  const hit = cache.get(symbol);
  if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.rules;
  const rows = await db
    .select({ market: markets, baseDecimals: base.decimals, quoteDecimals: quote.decimals })
    .from(markets)
    .innerJoin(base, eq(base.code, markets.baseAsset))
    .innerJoin(quote, eq(quote.code, markets.quoteAsset))
    .where(eq(markets.symbol, symbol));
  const row = rows[0];
  if (!row) throw new AppError(404, ErrorCode.MARKET_NOT_FOUND, `No market ${symbol}`);
  const rules = marketRulesOf(row.market, row.baseDecimals, row.quoteDecimals);
  cache.set(symbol, { rules, at: Date.now() });
  return rules;
}

/** The rules as the order book object takes them (integer strings). */
export function bookRules(rules: MarketRules): BookRules {
  return {
    ...rules,
    tickSize: rules.tickSize.toString(),
    lotSize: rules.lotSize.toString(),
    minQuantity: rules.minQuantity.toString(),
    maxQuantity: rules.maxQuantity.toString(),
    minNotional: rules.minNotional.toString(),
  };
}

export type OrderBookStub = DurableObjectStub<import("../../index").OrderBook>;

export function orderBook(env: Env, symbol: string): OrderBookStub {
  return env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
}

/** Installs the market's rules in its order book (first use, or after an admin change). */
export async function configureOrderBook(env: Env, rules: MarketRules): Promise<void> {
  const result = await orderBook(env, rules.symbol).configure(bookRules(rules));
  if (!result.ok) throw new Error(`order book ${rules.symbol} refused its rules: ${result.message}`);
}
