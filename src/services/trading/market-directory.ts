import type { MarketRules as BookRules } from "../../../durable-objects/market/rules";
import type { Database } from "../../db/client";
import { bookStub, configureBook, loadAllRules, marketNotFound } from "../markets";
import type { MarketRules } from "./market-rules";

/** Rules change rarely (an admin halts a market); the order book enforces status on its own too. */
const CACHE_MS = 2_000;
const cache = new Map<string, { rules: MarketRules; at: number }>();

/** The order book's rules (integer strings) as the trading domain's (bigint minor units). */
export function tradingRules(r: BookRules): MarketRules {
  return {
    ...r,
    tickSize: BigInt(r.tickSize),
    lotSize: BigInt(r.lotSize),
    minQuantity: BigInt(r.minQuantity),
    maxQuantity: BigInt(r.maxQuantity),
    minNotional: BigInt(r.minNotional),
  };
}

/** The trading domain's rules as the order book object takes them (integer strings). */
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

/** Every market's rules (Postgres is the record; the order books get a copy). */
export async function loadAllMarketRules(db: Database): Promise<MarketRules[]> {
  const now = Date.now();
  return (await loadAllRules(db)).map((r) => {
    const rules = tradingRules(r);
    cache.set(rules.symbol, { rules, at: now });
    return rules;
  });
}

export async function loadMarketRules(db: Database, symbol: string, fresh = false): Promise<MarketRules> {
  const hit = cache.get(symbol);
  if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.rules;
  const [row] = await loadAllRules(db, symbol);
  if (!row) throw marketNotFound(symbol);
  const rules = tradingRules(row);
  cache.set(symbol, { rules, at: Date.now() });
  return rules;
}

export type OrderBookStub = ReturnType<typeof bookStub>;

export const orderBook = (env: Env, symbol: string): OrderBookStub => bookStub(env, symbol);

/** Installs the market's rules in its order book (first use, or after an admin change). */
export const configureOrderBook = (env: Env, rules: MarketRules): Promise<void> =>
  configureBook(env, bookRules(rules));
