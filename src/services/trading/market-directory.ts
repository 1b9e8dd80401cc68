import type { Database } from "../../db/client";
import type { CommandResult } from "../../domain/market/commands";
import { readBookRules, marketNotFound, withBook, type OrderBookStub } from "../markets";
import { fromBookRules, type MarketRules } from "../../domain/market/market-rules";
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

/** The object has no rules (first use, storage reset): `withBook` configures it from Postgres. */
export const unconfigured = (r: CommandResult) => !r.ok && r.code === "MARKET_NOT_FOUND";

/** One call to the market's object, configured first if it has no rules (`withBook`). */
export function askBook(
  env: Env,
  db: Database,
  symbol: string,
  call: (book: OrderBookStub) => Promise<CommandResult>,
): Promise<CommandResult> {
  return withBook(
    env,
    () => db,
    symbol,
    async (book) => {
      const result = await call(book);
      return unconfigured(result) ? null : result;
    },
  );
}

// One name per concept: the stub and the rules install live in services/markets.ts.
export { configureOrderBook, orderBook, type OrderBookStub } from "../markets";
