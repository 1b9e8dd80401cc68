import { DEMO_ASSETS, DEMO_MARKETS } from "../../../scripts/lib/seed";
import { marketRulesOf, type MarketRules } from "../../../src/domain/market/market-rules";

function seeded(symbol: string): MarketRules {
  const market = DEMO_MARKETS.find((m) => m.symbol === symbol)!;
  const decimals = (code: string) => DEMO_ASSETS.find((a) => a.code === code)!.decimals;
  return marketRulesOf(market, decimals(market.baseAsset), decimals(market.quoteAsset));
}

/** The seeded markets (scripts/lib/seed.ts) with their assets' decimals. */
export const BTC_USDT = seeded("BTC-USDT");
export const ETH_USDT = seeded("ETH-USDT");
