import { feeOf } from "./fees";
import { quoteAmount, type MarketRules } from "../market/market-rules";

/** One trade as the engine reports it: the makers' price in ticks, a quantity in lots. */
export interface EngineFill {
  priceTicks: number;
  lots: number;
  takerSide: "buy" | "sell";
}

/**
 * What one fill moves, all in minor units. Per asset the movements sum to zero:
 * - base:  seller −`base` (from its lock), buyer +(`base` − `buyerFee`), fee account +`buyerFee`;
 * - quote: buyer −`quote` (from its lock), seller +(`quote` − `sellerFee`), fee account +`sellerFee`.
 * Each party's fee is in the asset it receives (the buyer's in base, the seller's in quote),
 * at the maker rate for the resting side and the taker rate for the incoming one, rounded up.
 */
export interface FillSettlement {
  base: bigint;
  quote: bigint;
  buyerFee: bigint;
  sellerFee: bigint;
  buyerLiquidity: "maker" | "taker";
  sellerLiquidity: "maker" | "taker";
}

export function settleFill(rules: MarketRules, fill: EngineFill): FillSettlement {
  return settleMinorFill(rules, {
    price: BigInt(fill.priceTicks) * rules.tickSize,
    quantity: BigInt(fill.lots) * rules.lotSize,
    takerSide: fill.takerSide,
  });
}

/** One trade in minor units: price (quote per whole base) and quantity (base). */
export interface MinorFill {
  price: bigint;
  quantity: bigint;
  takerSide: "buy" | "sell";
}

/**
 * `settleFill` from minor units, which need no tick or lot size: a fill keeps its value when
 * the market's grid changes after it matched (the outbox carries minor units since then).
 * quote = ⌊price × quantity / 10^baseDecimals⌋, the same as ticks × lots on the grid.
 */
export function settleMinorFill(
  rules: Pick<MarketRules, "baseDecimals" | "makerFeeBps" | "takerFeeBps">,
  fill: MinorFill,
): FillSettlement {
  const base = fill.quantity;
  const quote = quoteAmount({ num: 1n, den: 10n ** BigInt(rules.baseDecimals) }, fill.price * fill.quantity);
  const buyerLiquidity = fill.takerSide === "buy" ? "taker" : "maker";
  const sellerLiquidity = fill.takerSide === "sell" ? "taker" : "maker";
  const rate = (liquidity: "maker" | "taker") =>
    liquidity === "maker" ? rules.makerFeeBps : rules.takerFeeBps;
  return {
    base,
    quote,
    buyerFee: feeOf(base, rate(buyerLiquidity)),
    sellerFee: feeOf(quote, rate(sellerLiquidity)),
    buyerLiquidity,
    sellerLiquidity,
  };
}

/** What a fill takes from the lock of the order on `side`: quote for a buy, base for a sell. */
export function consumedBy(side: "buy" | "sell", settlement: FillSettlement): bigint {
  return side === "buy" ? settlement.quote : settlement.base;
}

/**
 * The part of a lock to release once the order is done (filled, cancelled, expired or
 * rejected): exactly what its fills did not consume. Never negative: a lock covers every
 * fill the order can make (see `prepareOrder`); a negative result means a broken invariant,
 * and settlement must stop rather than create money.
 */
export function unusedLock(locked: bigint, consumed: bigint): bigint {
  const unused = locked - consumed;
  if (unused < 0n) throw new Error(`fills consumed ${consumed} but only ${locked} was locked`);
  return unused;
}

/** What a buy must hold to pay for `quantity` at `price` (minor units), rounded up. */
export function buyNeed(rules: Pick<MarketRules, "baseDecimals">, price: bigint, quantity: bigint): bigint {
  return quoteAmount({ num: 1n, den: 10n ** BigInt(rules.baseDecimals) }, price * quantity, "ceil");
}
