import type { Database } from "../db/client";
import { loadAllMarketRules, loadMarketRules } from "../services/trading/market-directory";
import type { MarketRules } from "../domain/market/market-rules";
import { invalidSymbol } from "./binance-errors";

/** Binance writes a pair without a separator: BTC-USDT is BTCUSDT. */
export const binanceSymbol = (symbol: string): string => symbol.replace("-", "");

const REFRESH_MS = 30_000;
let names: { bySymbol: Map<string, string>; at: number } | null = null;

/**
 * Our symbol for a Binance one. "BTCUSDT" cannot be split without knowing the assets, so the
 * markets' names are kept per isolate and re-read on a miss (a market created meanwhile).
 */
export async function marketSymbol(db: Database, binance: string): Promise<string> {
  const stale = !names || Date.now() - names.at > REFRESH_MS;
  if (stale || !names!.bySymbol.has(binance)) {
    const all = await loadAllMarketRules(db);
    names = { bySymbol: new Map(all.map((r) => [binanceSymbol(r.symbol), r.symbol])), at: Date.now() };
  }
  const symbol = names!.bySymbol.get(binance);
  if (!symbol) throw invalidSymbol();
  return symbol;
}

/** The trading rules of the market a Binance symbol names (-1121 when there is none). */
export async function marketRulesOf(db: Database, binance: string): Promise<MarketRules> {
  return loadMarketRules(db, await marketSymbol(db, binance));
}
