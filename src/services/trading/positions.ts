import { floorDiv } from "../../domain/market/market-rules";

/** Extra decimal digits kept in an average cost, so repeated buys do not drift. */
export const AVG_COST_EXTRA_DIGITS = 12;
const EXTRA = 10n ** BigInt(AVG_COST_EXTRA_DIGITS);

/**
 * A position in one base asset, valued in one quote asset (the market's quote).
 * `avgCost` is the quote minor units paid per WHOLE base unit (e.g. micro-USDT per 1 BTC),
 * times 10^AVG_COST_EXTRA_DIGITS. Buys move it (weighted by quantity, fees included since the
 * buyer receives base net of its fee); sells do not move it and realize P&L against it.
 */
export interface Position {
  quantity: bigint;
  avgCost: bigint;
  realizedPnl: bigint;
}

export const emptyPosition = (): Position => ({ quantity: 0n, avgCost: 0n, realizedPnl: 0n });

/** One of the user's fills seen from their side, amounts in minor units and net of its fee. */
export interface PositionFill {
  side: "buy" | "sell";
  /** Buy: base received (net of fee). Sell: base given. */
  base: bigint;
  /** Buy: quote paid. Sell: quote received (net of fee). */
  quote: bigint;
}

/**
 * Applies a fill. Rounding: the new average cost rounds down to 10^-12 of a quote minor unit;
 * the cost of a sold quantity rounds down, so realized P&L may be up to one quote minor unit
 * above the exact value per sell. A sell beyond the tracked quantity (coins deposited rather
 * than bought here, whose cost is unknown) realizes P&L only on the tracked part.
 */
export function applyFill(position: Position, fill: PositionFill, baseDecimals: number): Position {
  const unit = 10n ** BigInt(baseDecimals);
  if (fill.side === "buy") {
    const quantity = position.quantity + fill.base;
    if (quantity === 0n) return position;
    const cost = position.quantity * position.avgCost + fill.quote * unit * EXTRA;
    return { quantity, avgCost: cost / quantity, realizedPnl: position.realizedPnl };
  }
  const tracked = fill.base < position.quantity ? fill.base : position.quantity;
  if (tracked === 0n) return position;
  // Only the tracked share of the proceeds is matched against the cost.
  const proceeds = (fill.quote * tracked) / fill.base;
  const cost = (tracked * position.avgCost) / (unit * EXTRA);
  const quantity = position.quantity - tracked;
  return {
    quantity,
    avgCost: quantity === 0n ? 0n : position.avgCost,
    realizedPnl: position.realizedPnl + proceeds - cost,
  };
}

/** The average cost in quote minor units per whole base unit, rounded down. */
export const averageCost = (position: Position): bigint => position.avgCost / EXTRA;

/** Quote minor units the position is worth at `price` (quote minor units per whole base unit). */
export function marketValue(position: Position, price: bigint, baseDecimals: number): bigint {
  return (position.quantity * price) / 10n ** BigInt(baseDecimals);
}

/** (price − average cost) × quantity, rounded toward negative infinity. */
export function unrealizedPnl(position: Position, price: bigint, baseDecimals: number): bigint {
  return floorDiv(
    position.quantity * (price * EXTRA - position.avgCost),
    10n ** BigInt(baseDecimals) * EXTRA,
  );
}
