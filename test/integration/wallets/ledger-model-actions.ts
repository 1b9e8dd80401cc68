// What the ledger model test does: the assets it moves and its random actions (deposits, confirmations,
// replays, withdrawals and their transitions, adjustments), for fast-check.
import fc from "fast-check";
export const ASSETS = {
  BTC: {
    decimals: 8,
    confirmations: 2,
    fee: 10_000n,
    min: 100_000n,
    address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
  },
  USDT: {
    decimals: 6,
    confirmations: 12,
    fee: 1_000_000n,
    min: 10_000_000n,
    address: "0x9858EfFD232B4033E47d90003D41EC34EcaEda94",
  },
} as const;
export type AssetCode = keyof typeof ASSETS;
const assetArb = fc.constantFrom<AssetCode>("BTC", "USDT");
const amountArb = fc.bigInt({ min: 1n, max: 400_000_000n });
const userArb = fc.nat({ max: 1 });

export type Action =
  | { op: "deposit"; user: number; asset: AssetCode; amount: bigint; confirmed: boolean }
  | { op: "confirm"; pick: number }
  | { op: "replay"; pick: number }
  /** `share` ‰ of the model's available balance, or `amount` when share is 0 (often invalid). */
  | { op: "withdraw"; user: number; asset: AssetCode; amount: bigint; share: number }
  | { op: "transition"; pick: number; kind: "approve" | "reject" | "cancel" | "sent" | "complete" }
  | { op: "adjust"; user: number; asset: AssetCode; amount: bigint };

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("deposit" as const),
      user: userArb,
      asset: assetArb,
      amount: amountArb,
      confirmed: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("confirm" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("replay" as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("withdraw" as const),
      user: userArb,
      asset: assetArb,
      amount: amountArb,
      share: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("transition" as const),
      pick: fc.nat(),
      kind: fc.constantFrom(
        "approve" as const,
        "reject" as const,
        "cancel" as const,
        "sent" as const,
        "complete" as const,
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("adjust" as const),
      user: userArb,
      asset: assetArb,
      amount: fc.bigInt({ min: -200_000_000n, max: 200_000_000n }),
    }),
  },
);
