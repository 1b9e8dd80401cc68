import type { Database } from "../../db/client";
import type { CommandResult } from "../../domain/market/commands";
import { configureOrderBook, orderBook, readBookRules, marketNotFound, type OrderBookStub } from "../markets";
import { fromBookRules, toBookRules, type MarketRules } from "../../domain/market/market-rules";

/** Rules change rarely (an admin halts a market); the order book enforces status on its own too. */
const CACHE_MS = 2_000;
/**
 * From this age on, the first request that finds the rules re-reads them and the others go on
 * with the cached copy (still younger than CACHE_MS): under load, the rules are renewed by one
 * query instead of every request in flight querying at once when they expire. Requests never
 * wait on another request's query (workerd cancels a request's promise when it ends).
 */
const REFRESH_MS = 1_000;
const cache = new Map<string, { rules: MarketRules; at: number; refreshing: boolean }>();

/** Every market's rules (Postgres is the record; the order books get a copy). */
export async function loadAllMarketRules(db: Database): Promise<MarketRules[]> {
  const now = Date.now();
  return (await readBookRules(db)).map((r) => {
    const rules = fromBookRules(r);
    cache.set(rules.symbol, { rules, at: now, refreshing: false });
    return rules;
  });
}

/** A market's rules, at most CACHE_MS old (`fresh`: read now). */
export async function loadMarketRules(db: Database, symbol: string, fresh = false): Promise<MarketRules> {
  const hit = cache.get(symbol);
  if (hit && !fresh) {
    const age = Date.now() - hit.at;
    if (age < REFRESH_MS || (age < CACHE_MS && hit.refreshing)) return hit.rules;
    hit.refreshing = true;
  }
  try {
    const [row] = await readBookRules(db, symbol);
    if (!row) throw marketNotFound(symbol);
    const rules = fromBookRules(row);
    cache.set(symbol, { rules, at: Date.now(), refreshing: false });
    return rules;
  } finally {
    // A failed re-read lets the next request try (the entry is unchanged otherwise).
    if (hit && cache.get(symbol) === hit) hit.refreshing = false;
  }
}

/**
 * One call to the market's object. An object that has no rules yet (first use, storage reset)
 * answers MARKET_NOT_FOUND: it is configured from `rules` and asked once more.
 */
export async function askBook(
  env: Env,
  rules: MarketRules,
  call: (book: OrderBookStub) => Promise<CommandResult>,
): Promise<CommandResult> {
  const book = orderBook(env, rules.symbol);
  const result = await call(book);
  if (result.ok || result.code !== "MARKET_NOT_FOUND") return result;
  await configureOrderBook(env, toBookRules(rules));
  return call(book);
}

// One name per concept: the stub and the rules install live in services/markets.ts.
export { configureOrderBook, orderBook, type OrderBookStub } from "../markets";
