import { ceilDiv } from "../market/market-rules";

const BPS = 10_000n;

/**
 * The fee on `amount` minor units at `bps` basis points, rounded UP (in the exchange's favour:
 * a fee of 0.3 satoshi is 1 satoshi). Never negative and never more than `amount` for the
 * 0..10,000 bps a market may carry (the schema allows at most 1,000).
 */
export function feeOf(amount: bigint, bps: number): bigint {
  if (amount < 0n) throw new RangeError("a fee is taken on a non-negative amount");
  if (!Number.isInteger(bps) || bps < 0 || bps > 10_000) throw new RangeError(`invalid fee rate ${bps} bps`);
  return ceilDiv(amount * BigInt(bps), BPS);
}
