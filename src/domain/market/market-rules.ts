// The market's rules, ONE type for the Worker and the market's object alike. Both import this
// module (src/domain is where code shared by the Worker's services and the Durable Objects
// lives: it imports only src/db and src/lib, so dependencies point one way, see DESIGN.md).

import { percentPriceOfColumns, type PercentPriceColumns, type PercentPriceRule } from "./percent-price";

export type MarketStatus = "trading" | "halted" | "cancel-only";

/**
 * A market's trading rules with every amount in minor units (the quote's for tick and notional,
 * the base's for lot and quantities), as stored in the `markets` table joined with its assets.
 */
export interface MarketRules {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  baseDecimals: number;
  quoteDecimals: number;
  tickSize: bigint;
  lotSize: bigint;
  minQuantity: bigint;
  maxQuantity: bigint;
  minNotional: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  status: MarketStatus;
  /** The percent price filter; null when the market has none (the default). */
  percentPrice: PercentPriceRule | null;
  /** At most this many live orders (resting and pending stops) per account; null: no cap. */
  maxOpenOrders: number | null;
}

/** The highest cap on an account's live orders a market may set. */
export const MAX_OPEN_ORDERS_CAP = 100_000;

/**
 * The same rules as JSON carries them: the object's RPC (`configure`, `getRules`) and its
 * storage. Sizes are integer strings of minor units.
 */
export type BookRules = { [K in keyof MarketRules]: MarketRules[K] extends bigint ? string : MarketRules[K] };

export function toBookRules(r: MarketRules): BookRules {
  return {
    ...r,
    tickSize: r.tickSize.toString(),
    lotSize: r.lotSize.toString(),
    minQuantity: r.minQuantity.toString(),
    maxQuantity: r.maxQuantity.toString(),
    minNotional: r.minNotional.toString(),
  };
}

/** Rules read back from JSON (call `rulesProblem` first on anything not written by `toBookRules`). */
export function fromBookRules(r: BookRules): MarketRules {
  return {
    ...r,
    tickSize: BigInt(r.tickSize),
    lotSize: BigInt(r.lotSize),
    minQuantity: BigInt(r.minQuantity),
    maxQuantity: BigInt(r.maxQuantity),
    minNotional: BigInt(r.minNotional),
    // Rules stored before the filter existed have no such field.
    percentPrice: r.percentPrice ?? null,
    maxOpenOrders: r.maxOpenOrders ?? null,
  };
}

/**
 * One engine notional unit (1 tick × 1 lot) is worth `num / den` quote minor units:
 * quote = ticks × tick × lots × lot / 10^baseDecimals. The fraction is reduced, so `den` is 1
 * exactly when every fill of the market is a whole number of quote minor units (ETH-USDT in
 * the seed: 1 unit = 1 micro-USDT); BTC-USDT's 0.01 USDT tick and 0.00001 BTC lot give
 * 1 unit = 0.1 micro-USDT, so there `den` is 10 and amounts round (see `quoteAmount`).
 */
export interface QuoteScale {
  num: bigint;
  den: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

type ScaleInputs = Pick<MarketRules, "tickSize" | "lotSize" | "baseDecimals">;

/** The last scale of each rules object, with what it was computed from (a placement needs it twice). */
const scales = new WeakMap<ScaleInputs, ScaleInputs & { scale: QuoteScale }>();

/** The rules asked last, and their entry: a placement asks twice, always of the same rules. */
let lastRules: ScaleInputs | undefined;
let lastKnown: (ScaleInputs & { scale: QuoteScale }) | undefined;

export function quoteScale(rules: ScaleInputs): QuoteScale {
  const known = rules === lastRules ? lastKnown : scales.get(rules);
  if (
    known?.tickSize === rules.tickSize &&
    known.lotSize === rules.lotSize &&
    known.baseDecimals === rules.baseDecimals
  ) {
    lastRules = rules;
    lastKnown = known;
    return known.scale;
  }
  const num = rules.tickSize * rules.lotSize;
  const den = 10n ** BigInt(rules.baseDecimals);
  const g = gcd(num, den);
  const scale = Object.freeze({ num: num / g, den: den / g });
  lastKnown = { tickSize: rules.tickSize, lotSize: rules.lotSize, baseDecimals: rules.baseDecimals, scale };
  lastRules = rules;
  scales.set(rules, lastKnown);
  return scale;
}

/** `a / b` rounded up, for non-negative `a` and positive `b`. */
export const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** `a / b` rounded toward negative infinity (bigint division truncates toward zero). */
export const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
};

/**
 * The quote amount of `units` notional units (ticks × lots), in quote minor units.
 *
 * Rounding: DOWN where the market's tick × lot is not a whole quote minor unit. Buyer and
 * seller see the same amount, so each fill conserves the quote asset exactly; nobody pays
 * more than price × quantity, the seller forgoes less than one minor unit per fill. Rounding
 * down also keeps the sum of the fills of an order within its lock: Σ⌊xᵢ⌋ ≤ ⌊Σxᵢ⌋.
 * `ceil` is for locks, which must cover the exact amount.
 */
export function quoteAmount(scale: QuoteScale, units: bigint, rounding: "floor" | "ceil" = "floor"): bigint {
  const scaled = units * scale.num;
  return rounding === "floor" ? scaled / scale.den : ceilDiv(scaled, scale.den);
}

/** The largest number of notional units whose quote amount does not exceed `quote` minor units. */
export function unitsWithin(scale: QuoteScale, quote: bigint): bigint {
  return (quote * scale.den) / scale.num;
}

/** The rules of a `markets` row, given its base and quote assets' decimals. */
export function marketRulesOf(
  market: Omit<MarketRules, "baseDecimals" | "quoteDecimals" | "status" | "percentPrice" | "maxOpenOrders"> &
    Partial<PercentPriceColumns> & { status?: MarketRules["status"]; maxOpenOrders?: number | null },
  baseDecimals: number,
  quoteDecimals: number,
): MarketRules {
  return {
    symbol: market.symbol,
    baseAsset: market.baseAsset,
    quoteAsset: market.quoteAsset,
    baseDecimals,
    quoteDecimals,
    tickSize: market.tickSize,
    lotSize: market.lotSize,
    minQuantity: market.minQuantity,
    maxQuantity: market.maxQuantity,
    minNotional: market.minNotional,
    makerFeeBps: market.makerFeeBps,
    takerFeeBps: market.takerFeeBps,
    status: market.status ?? "trading",
    percentPrice: percentPriceOfColumns(market),
    maxOpenOrders: market.maxOpenOrders ?? null,
  };
}
