import { marketRulesOf, toBookRules, type BookRules } from "../../src/domain/market/market-rules";
import { DEMO_ASSETS, DEMO_MARKETS } from "./seed";

/**
 * A demo market's rules as the order book object holds them, under any symbol (tests and
 * benchmarks give every case its own object). Default template: BTC-USDT.
 */
export function demoMarketRules(
  symbol: string,
  template = "BTC-USDT",
  overrides: Partial<BookRules> = {},
): BookRules {
  const m = DEMO_MARKETS.find((d) => d.symbol === template);
  if (!m) throw new Error(`no demo market ${template}`);
  const decimals = (code: string) => DEMO_ASSETS.find((a) => a.code === code)!.decimals;
  return {
    ...toBookRules(marketRulesOf({ ...m, symbol }, decimals(m.baseAsset), decimals(m.quoteAsset))),
    ...overrides,
  };
}
