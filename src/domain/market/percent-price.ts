// A market's optional percent price filter, Binance's PERCENT_PRICE_BY_SIDE: a limit price must
// lie within [down, up] × the reference price, with multipliers per side. The reference is the
// last trade price (Binance's `avgPriceMins: 0`); a market with no trade yet has none, and the
// filter lets every price through until the first trade.
//
// Multipliers are whole basis points of the reference (1 = 10,000 bps), so the check is integer
// arithmetic on ticks: every product stays below 2^31 ticks × 10^6 bps < 2^53.

import { decimalToMinor, minorToDecimal } from "./units";

/** Multipliers in basis points of the reference price; off when the market has none. */
export interface PercentPriceRule {
  bidUpBps: number;
  bidDownBps: number;
  askUpBps: number;
  askDownBps: number;
}

/** 1× in basis points. */
export const ONE_BPS = 10_000;
/** The widest band a market may set: 100× up (and 1/10,000 down). */
export const MAX_MULTIPLIER_BPS = 1_000_000;

const KEYS = ["bidUpBps", "bidDownBps", "askUpBps", "askDownBps"] as const;

/**
 * Why a rule cannot be used, or null. `down ≤ 1 ≤ up` on each side, so the reference price
 * itself is always accepted and the band can never be empty.
 */
export function percentPriceProblem(rule: unknown): string | null {
  if (rule === null || rule === undefined) return null;
  if (typeof rule !== "object") return "percentPrice must be an object or null";
  const r = rule as Record<string, unknown>;
  for (const k of KEYS) {
    const v = r[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > MAX_MULTIPLIER_BPS) {
      return `percentPrice.${k} must be an integer in 1..${MAX_MULTIPLIER_BPS}`;
    }
  }
  const rr = r as unknown as PercentPriceRule;
  if (rr.bidDownBps > ONE_BPS || rr.askDownBps > ONE_BPS) return "a down multiplier cannot exceed 1";
  if (rr.bidUpBps < ONE_BPS || rr.askUpBps < ONE_BPS) return "an up multiplier cannot be below 1";
  return null;
}

/**
 * The refusal's message when a limit price (ticks) of an order on `side` lies outside the band
 * around `reference` (ticks; null or 0 before the first trade), or null when it is inside.
 */
export function outsidePercentBand(
  rule: PercentPriceRule | null | undefined,
  side: "buy" | "sell",
  price: number,
  reference: number | null,
): string | null {
  if (!rule || !reference) return null;
  const [up, down] = side === "buy" ? [rule.bidUpBps, rule.bidDownBps] : [rule.askUpBps, rule.askDownBps];
  const scaled = price * ONE_BPS;
  if (scaled > reference * up) return `A ${side} price may be at most ${up / ONE_BPS}× the last price`;
  if (scaled < reference * down) return `A ${side} price must be at least ${down / ONE_BPS}× the last price`;
  return null;
}

/** The filter as the `markets` row stores it: four columns, all null when off. */
export interface PercentPriceColumns {
  percentPriceBidUpBps: number | null;
  percentPriceBidDownBps: number | null;
  percentPriceAskUpBps: number | null;
  percentPriceAskDownBps: number | null;
}

export function percentPriceOfColumns(c: Partial<PercentPriceColumns>): PercentPriceRule | null {
  const [bidUpBps, bidDownBps, askUpBps, askDownBps] = [
    c.percentPriceBidUpBps,
    c.percentPriceBidDownBps,
    c.percentPriceAskUpBps,
    c.percentPriceAskDownBps,
  ];
  if (bidUpBps == null || bidDownBps == null || askUpBps == null || askDownBps == null) return null;
  return { bidUpBps, bidDownBps, askUpBps, askDownBps };
}

export function percentPriceColumns(rule: PercentPriceRule | null): PercentPriceColumns {
  return {
    percentPriceBidUpBps: rule?.bidUpBps ?? null,
    percentPriceBidDownBps: rule?.bidDownBps ?? null,
    percentPriceAskUpBps: rule?.askUpBps ?? null,
    percentPriceAskDownBps: rule?.askDownBps ?? null,
  };
}

/** The filter as the API shows and takes it: Binance's multipliers as decimal strings. */
export interface PercentPriceView {
  bid_multiplier_up: string;
  bid_multiplier_down: string;
  ask_multiplier_up: string;
  ask_multiplier_down: string;
}

const multiplier = (bps: number) => minorToDecimal(BigInt(bps), 4, 0);

export function percentPriceView(rule: PercentPriceRule | null): PercentPriceView | null {
  if (!rule) return null;
  return {
    bid_multiplier_up: multiplier(rule.bidUpBps),
    bid_multiplier_down: multiplier(rule.bidDownBps),
    ask_multiplier_up: multiplier(rule.askUpBps),
    ask_multiplier_down: multiplier(rule.askDownBps),
  };
}

/** Decimal multipliers (at most 4 places) as a rule, or why they cannot be one. */
export function percentPriceOfView(view: PercentPriceView): PercentPriceRule | string {
  const bps = (v: string) => {
    const n = decimalToMinor(v, 4);
    return n === null || n > BigInt(MAX_MULTIPLIER_BPS) ? NaN : Number(n);
  };
  const rule = {
    bidUpBps: bps(view.bid_multiplier_up),
    bidDownBps: bps(view.bid_multiplier_down),
    askUpBps: bps(view.ask_multiplier_up),
    askDownBps: bps(view.ask_multiplier_down),
  };
  return percentPriceProblem(rule)
    ? "percent_price multipliers are decimals with at most 4 places, each side's down <= 1 <= up <= 100"
    : rule;
}
