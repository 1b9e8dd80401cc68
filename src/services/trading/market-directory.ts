import type { Database } from "../../db/client";
import type { CommandResult } from "../../domain/market/commands";
import { configureOrderBook, orderBook, readBookRules, marketNotFound, type OrderBookStub } from "../markets";
import { fromBookRules, toBookRules, type MarketRules } from "../../domain/market/market-rules";
import { RefreshingCache } from "./refreshing-cache";

/**
 * Rules change rarely (an admin halts a market; the order book enforces status on its own too):
 * each isolate keeps them at most 2 s and renews a market's after 1 s, by one request.
 */
const cache = new RefreshingCache<MarketRules>(2_000, 1_000);

/** Every market's rules (Postgres is the record; the order books get a copy). */
export async function loadAllMarketRules(db: Database): Promise<MarketRules[]> {
  const now = Date.now();
  return (await readBookRules(db)).map((r) => {
    const rules = fromBookRules(r);
    cache.set(rules.symbol, rules, now);
    return rules;
  });
}

/** A market's rules, at most 2 s old (`fresh`: read now). */
export function loadMarketRules(db: Database, symbol: string, fresh = false): Promise<MarketRules> {
  return cache.get(
    symbol,
    async () => {
      const [row] = await readBookRules(db, symbol);
      if (!row) throw marketNotFound(symbol);
      return fromBookRules(row);
    },
    fresh,
  );
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
