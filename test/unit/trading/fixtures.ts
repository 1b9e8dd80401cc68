import type { MarketRules } from "../../../src/services/trading/market-rules";

/** The seeded markets (scripts/lib/seed.ts) with their assets' decimals. */
export const BTC_USDT: MarketRules = {
  symbol: "BTC-USDT",
  baseAsset: "BTC",
  quoteAsset: "USDT",
  baseDecimals: 8,
  quoteDecimals: 6,
  tickSize: 10_000n,
  lotSize: 1_000n,
  minQuantity: 1_000n,
  maxQuantity: 10_000_000_000n,
  minNotional: 5_000_000n,
  makerFeeBps: 10,
  takerFeeBps: 20,
  status: "trading",
};

export const ETH_USDT: MarketRules = {
  symbol: "ETH-USDT",
  baseAsset: "ETH",
  quoteAsset: "USDT",
  baseDecimals: 18,
  quoteDecimals: 6,
  tickSize: 10_000n,
  lotSize: 10n ** 14n,
  minQuantity: 10n ** 14n,
  maxQuantity: 10n ** 21n,
  minNotional: 5_000_000n,
  makerFeeBps: 10,
  takerFeeBps: 20,
  status: "trading",
};
