import { describe, expect, it } from "vitest";
import {
  planSettlement,
  type OrderState,
  type OutboxEntry,
} from "../../../src/services/trading/settlement-plan";
import { BTC_USDT } from "./fixtures";

const order = (over: Partial<OrderState> & Pick<OrderState, "id" | "userId" | "side">): OrderState => ({
  status: "new",
  lockAsset: over.side === "buy" ? "USDT" : "BTC",
  lockedAmount: 0n,
  consumedAmount: 0n,
  releasedAmount: 0n,
  filledQuantity: 0n,
  filledQuote: 0n,
  ...over,
});

// Alice rests a sell of 0.02 BTC at 64,000; Bob buys 0.01 at up to 65,000 (locks 650 USDT)
// and takes 0.01 at 64,000; then Alice cancels the rest.
const alice = order({ id: "a", userId: "alice", side: "sell", lockedAmount: 2_000_000n });
const bob = order({ id: "b", userId: "bob", side: "buy", lockedAmount: 650_000_000n, status: "pending" });
const known = new Map([
  [alice.id, alice],
  [bob.id, bob],
]);
const batch: OutboxEntry[] = [
  { seq: 7, kind: "order", ts: 1, event: "accepted", orderId: "b", userId: "bob", market: "BTC-USDT" },
  {
    seq: 8,
    kind: "trade",
    ts: 2,
    tradeId: "BTC-USDT:1",
    market: "BTC-USDT",
    price: "64000.00",
    quantity: "0.01000",
    takerSide: "buy",
    takerOrderId: "b",
    takerUserId: "bob",
    makerOrderId: "a",
    makerUserId: "alice",
    makerFeeBps: 10,
    takerFeeBps: 20,
  },
  {
    seq: 9,
    kind: "order",
    ts: 3,
    event: "done",
    status: "filled",
    orderId: "b",
    userId: "bob",
    market: "BTC-USDT",
  },
  {
    seq: 10,
    kind: "order",
    ts: 4,
    event: "done",
    status: "cancelled",
    orderId: "a",
    userId: "alice",
    market: "BTC-USDT",
  },
];

describe("a settlement batch", () => {
  const plan = planSettlement(BTC_USDT, batch, known, 6);

  it("moves the fill between the parties, fees to the fee account, and releases the unused locks", () => {
    const sums = new Map<string, bigint>();
    for (const entry of plan.entries)
      for (const m of entry.movements) sums.set(m.asset, (sums.get(m.asset) ?? 0n) + m.amount);
    expect(Object.fromEntries(sums)).toEqual({ USDT: 0n, BTC: 0n });
    expect(plan.entries.map((e) => [e.type, e.reference])).toEqual([
      ["trade", "BTC-USDT:1"],
      ["order.release", "b"], // 650 − 640 USDT of price improvement
      ["order.release", "a"], // the unsold 0.01 BTC
    ]);
    expect(plan.entries[0]!.movements).toEqual([
      { account: "locked", userId: "bob", asset: "USDT", amount: -640_000_000n },
      { account: "available", userId: "alice", asset: "USDT", amount: 639_360_000n },
      { account: "fees", asset: "USDT", amount: 640_000n },
      { account: "locked", userId: "alice", asset: "BTC", amount: -1_000_000n },
      { account: "available", userId: "bob", asset: "BTC", amount: 998_000n },
      { account: "fees", asset: "BTC", amount: 2_000n },
    ]);
    expect(plan.entries[1]!.movements[1]).toEqual({
      account: "available",
      userId: "bob",
      asset: "USDT",
      amount: 10_000_000n,
    });
    expect(plan.orders.get("b")).toMatchObject({
      status: "filled",
      consumedAmount: 640_000_000n,
      releasedAmount: 10_000_000n,
    });
    expect(plan.orders.get("a")).toMatchObject({
      status: "cancelled",
      filledQuantity: 1_000_000n,
      consumedAmount: 1_000_000n,
      releasedAmount: 1_000_000n,
    });
    expect(plan.lastSeq).toBe(10);
    expect(plan.events.map((e) => e.type)).toEqual([
      "order.accepted",
      "trade.executed",
      "trade.executed",
      "order.filled",
      "order.cancelled",
    ]);
  });

  it("replayed after it was applied, plans nothing", () => {
    const again = planSettlement(BTC_USDT, batch, known, plan.lastSeq);
    expect(again.entries).toEqual([]);
    expect(again.trades).toEqual([]);
    expect(again.orders.size).toBe(0);
  });

  it("with its cursor lost, still settles no trade twice (trade ids already in the database)", () => {
    const applied = new Map([...plan.orders].map(([id, o]) => [id, { ...o }]));
    const again = planSettlement(BTC_USDT, batch, applied, 0, new Set(["BTC-USDT:1"]));
    expect(again.trades).toEqual([]);
    expect(again.entries).toEqual([]); // both orders are closed: no second release either
  });

  it("refuses a fill the lock does not cover", () => {
    const poor = new Map(known).set("b", { ...bob, lockedAmount: 1n });
    expect(() => planSettlement(BTC_USDT, batch, poor, 6)).toThrow(/overdraws/);
  });
});
