import { MarketGrid } from "./units";

export type MarketStatus = "trading" | "halted" | "cancel-only";

/**
 * A market's rules as the object holds them. Sizes are integer strings in minor units (the
 * quote's for tick and notional, the base's for lot and quantities), as in Postgres.
 */
export interface MarketRules {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  baseDecimals: number;
  quoteDecimals: number;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  maxQuantity: string;
  minNotional: string;
  makerFeeBps: number;
  takerFeeBps: number;
  status: MarketStatus;
}

/** A market row as Postgres holds it (sizes as bigint minor units). */
export interface MarketRow {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: bigint;
  lotSize: bigint;
  minQuantity: bigint;
  maxQuantity: bigint;
  minNotional: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  status?: MarketStatus;
}

/** The object's rules from a market row and its assets' decimals. */
export function rulesFromRow(m: MarketRow, baseDecimals: number, quoteDecimals: number): MarketRules {
  return {
    symbol: m.symbol,
    baseAsset: m.baseAsset,
    quoteAsset: m.quoteAsset,
    baseDecimals,
    quoteDecimals,
    tickSize: m.tickSize.toString(),
    lotSize: m.lotSize.toString(),
    minQuantity: m.minQuantity.toString(),
    maxQuantity: m.maxQuantity.toString(),
    minNotional: m.minNotional.toString(),
    makerFeeBps: m.makerFeeBps,
    takerFeeBps: m.takerFeeBps,
    status: m.status ?? "trading",
  };
}

const INTEGER = /^[1-9]\d{0,77}$|^0$/;

/** Why a rules object cannot be used, or null when it is sound. */
export function rulesProblem(r: MarketRules): string | null {
  if (!/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/.test(r.symbol)) return "symbol must look like BTC-USDT";
  for (const k of ["tickSize", "lotSize", "minQuantity", "maxQuantity", "minNotional"] as const) {
    if (typeof r[k] !== "string" || !INTEGER.test(r[k])) return `${k} must be an integer string`;
  }
  for (const k of ["baseDecimals", "quoteDecimals"] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 0 || r[k] > 18) return `${k} must be in 0..18`;
  }
  for (const k of ["makerFeeBps", "takerFeeBps"] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 0 || r[k] > 1000) return `${k} must be in 0..1000`;
  }
  if (BigInt(r.tickSize) <= 0n || BigInt(r.lotSize) <= 0n) return "tick and lot must be positive";
  if (BigInt(r.minQuantity) <= 0n || BigInt(r.maxQuantity) < BigInt(r.minQuantity)) {
    return "need 0 < minQuantity <= maxQuantity";
  }
  if (!["trading", "halted", "cancel-only"].includes(r.status)) return "unknown status";
  return null;
}

/** Rules plus the grid derived from them, ready for the hot path. */
export class ActiveRules {
  readonly grid: MarketGrid;
  readonly minQuantity: bigint;
  readonly maxQuantity: bigint;
  readonly minNotional: bigint;

  constructor(readonly rules: MarketRules) {
    this.grid = new MarketGrid(
      rules.baseDecimals,
      rules.quoteDecimals,
      BigInt(rules.tickSize),
      BigInt(rules.lotSize),
    );
    this.minQuantity = BigInt(rules.minQuantity);
    this.maxQuantity = BigInt(rules.maxQuantity);
    this.minNotional = BigInt(rules.minNotional);
  }
}
