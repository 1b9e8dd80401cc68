import {
  fromBookRules,
  MAX_OPEN_ORDERS_CAP,
  type BookRules,
  type MarketRules,
} from "../../src/domain/market/market-rules";
import { MarketGrid } from "../../src/domain/market/units";
import { percentPriceProblem } from "../../src/domain/market/percent-price";

const INTEGER = /^[1-9]\d{0,77}$|^0$/;

/** Why rules arriving over RPC cannot be used, or null when they are sound. */
export function rulesProblem(r: BookRules): string | null {
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
  const cap = r.maxOpenOrders ?? null;
  if (cap !== null && (!Number.isInteger(cap) || cap < 1 || cap > MAX_OPEN_ORDERS_CAP)) {
    return `maxOpenOrders must be null or in 1..${MAX_OPEN_ORDERS_CAP}`;
  }
  return percentPriceProblem(r.percentPrice);
}

/** The installed rules, converted once per configuration (not per order), and their grid. */
export class ActiveRules {
  readonly rules: MarketRules;
  readonly grid: MarketGrid;

  /** `book`: the rules as installed (JSON), returned by `getRules`. */
  constructor(readonly book: BookRules) {
    this.rules = fromBookRules(book);
    this.grid = new MarketGrid(
      book.baseDecimals,
      book.quoteDecimals,
      this.rules.tickSize,
      this.rules.lotSize,
    );
  }
}
