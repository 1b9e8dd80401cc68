import { rulesFromRow, type MarketRules } from "../../durable-objects/market/rules";
import { DEMO_ASSETS, DEMO_MARKETS } from "./seed";

/**
 * A demo market's rules as the order book object holds them, under any symbol (tests and
 * benchmarks give every case its own object). Default template: BTC-USDT.
 */
export function demoMarketRules(
  symbol: string,
  template = "BTC-USDT",
  overrides: Partial<MarketRules> = {},
): MarketRules {
  const m = DEMO_MARKETS.find((d) => d.symbol === template);
  if (!m) throw new Error(`no demo market ${template}`);
  const decimals = (code: string) => DEMO_ASSETS.find((a) => a.code === code)!.decimals;
  return {
    ...rulesFromRow({ ...m, symbol }, decimals(m.baseAsset), decimals(m.quoteAsset)),
    ...overrides,
  };
}
