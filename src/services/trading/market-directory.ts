import type { Database } from "../../db/client";
import { readBookRules, marketNotFound } from "../markets";
import { fromBookRules, type MarketRules } from "../../domain/market/market-rules";

/** Rules change rarely (an admin halts a market); the order book enforces status on its own too. */
const CACHE_MS = 2_000;
const cache = new Map<string, { rules: MarketRules; at: number }>();

/** Every market's rules (Postgres is the record; the order books get a copy). */
export async function loadAllMarketRules(db: Database): Promise<MarketRules[]> {
  const now = Date.now();
  return (await readBookRules(db)).map((r) => {
    const rules = fromBookRules(r);
    cache.set(rules.symbol, { rules, at: now });
    return rules;
  });
}

export async function loadMarketRules(db: Database, symbol: string, fresh = false): Promise<MarketRules> {
  const hit = cache.get(symbol);
  if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.rules;
  const [row] = await readBookRules(db, symbol);
  if (!row) throw marketNotFound(symbol);
  const rules = fromBookRules(row);
  cache.set(symbol, { rules, at: Date.now() });
  return rules;
}

// One name per concept: the stub and the rules install live in services/markets.ts.
export { configureOrderBook, orderBook, type OrderBookStub } from "../markets";
