import { describe, expect, it } from "vitest";
import { planSettlement, type OrderState, type OutboxEntry } from "../../../src/domain/settlement/plan";
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

  it("quarantines a fill the lock does not cover, and settles the rest as if it had not been there", () => {
    const poor = new Map(known).set("b", { ...bob, lockedAmount: 1n });
    const plan = planSettlement(BTC_USDT, batch, poor, 6);
    expect(plan.quarantined.map((q) => [q.entry.seq, q.reason])).toEqual([
      [8, expect.stringMatching(/overdraws/)],
    ]);
    expect(plan.trades).toEqual([]);
    expect(plan.lastSeq).toBe(10);
    // Nothing of the trade is left: Alice's cancel releases her whole lock, Bob's close his 1.
    expect(plan.orders.get("a")).toMatchObject({
      status: "cancelled",
      consumedAmount: 0n,
      filledQuantity: 0n,
    });
    expect(plan.orders.get("a")!.releasedAmount).toBe(2_000_000n);
    expect(plan.orders.get("b")).toMatchObject({ status: "filled", consumedAmount: 0n, releasedAmount: 1n });
    expect(plan.events.some((e) => e.type === "trade.executed")).toBe(false);
  });

  it("quarantines an entry naming an order Postgres does not have; the others settle", () => {
    const ghost = { ...(batch[1] as Extract<OutboxEntry, { kind: "trade" }>), makerOrderId: "ghost" };
    const plan = planSettlement(BTC_USDT, [batch[0]!, ghost, batch[2]!], known, 6);
    expect(plan.quarantined.map((q) => q.entry.seq)).toEqual([8]);
    expect(plan.quarantined[0]!.reason).toMatch(/order ghost .* not in the database/);
    expect(plan.orders.has("ghost")).toBe(false);
    expect(plan.orders.get("b")).toMatchObject({ status: "filled", consumedAmount: 0n });
  });

  it("settles a trade from the minor units it carries, whatever the market's grid is now", () => {
    const withMinor = batch.map((e) =>
      e.kind === "trade" ? { ...e, priceMinor: "64000000000", quantityMinor: "1000000" } : e,
    );
    const regridded = { ...BTC_USDT, tickSize: 7_000_000n, lotSize: 300_000n };
    const fromMinor = planSettlement(regridded, withMinor, known, 6);
    const original = planSettlement(BTC_USDT, batch, known, 6);
    expect(fromMinor.quarantined).toEqual([]);
    expect(fromMinor.trades).toEqual(original.trades);
    expect(fromMinor.entries).toEqual(original.entries);
  });
});

/** Applies a plan's order states to `known`, as the settlement transaction writes them. */
function applied(known: Map<string, OrderState>, plan: ReturnType<typeof planSettlement>) {
  const next = new Map(known);
  for (const o of plan.orders.values()) next.set(o.id, { ...o });
  return next;
}

const released = (plan: ReturnType<typeof planSettlement>, userId: string) =>
  plan.entries
    .flatMap((e) => e.movements)
    .filter((m) => m.account === "available" && m.userId === userId && m.asset === "USDT")
    .reduce((sum, m) => sum + m.amount, 0n);

describe("OCO pairs and amendments", () => {
  // Carol's buy OCO of 0.01 BTC: limit leg at 60,000, stop-limit leg at 66,000 → one lock of 660.
  const limit = order({
    id: "l",
    userId: "carol",
    side: "buy",
    lockedAmount: 660_000_000n,
    ocoGroupId: "l",
    price: 60_000_000_000n,
    quantity: 1_000_000n,
  });
  const stop = order({ id: "s", userId: "carol", side: "buy", ocoGroupId: "l", price: 66_000_000_000n });
  const pair = new Map([
    [limit.id, limit],
    [stop.id, stop],
  ]);
  const ev = (seq: number, event: "done" | "triggered", orderId: string, status?: "cancelled" | "filled") =>
    ({
      seq,
      kind: "order",
      ts: seq,
      event,
      orderId,
      userId: "carol",
      market: "BTC-USDT",
      status,
    }) as OutboxEntry;

  it("the stop leg triggers: the limit leg's lock moves to it, nothing is released until it ends", () => {
    const plan = planSettlement(
      BTC_USDT,
      [ev(1, "triggered", "s"), ev(2, "done", "l", "cancelled")],
      pair,
      0,
    );
    expect(plan.orders.get("l")).toMatchObject({ status: "cancelled", lockedAmount: 0n, releasedAmount: 0n });
    expect(plan.orders.get("s")).toMatchObject({ status: "new", lockedAmount: 660_000_000n });
    expect(plan.entries).toEqual([]);
    // The stop leg is cancelled later: the whole 660 comes back, once.
    const after = applied(pair, plan);
    const end = planSettlement(BTC_USDT, [ev(3, "done", "s", "cancelled")], after, 2);
    expect(released(end, "carol")).toBe(660_000_000n);
    // Replayed with the cursor lost: both legs are closed, nothing moves.
    const again = planSettlement(
      BTC_USDT,
      [ev(2, "done", "l", "cancelled"), ev(3, "done", "s", "cancelled")],
      applied(after, end),
      0,
    );
    expect(again.entries).toEqual([]);
  });

  it("either leg cancelled: the pair's lock is released exactly once", () => {
    const plan = planSettlement(
      BTC_USDT,
      [ev(1, "done", "s", "cancelled"), ev(2, "done", "l", "cancelled")],
      pair,
      0,
    );
    expect(released(plan, "carol")).toBe(660_000_000n);
    const plan2 = planSettlement(
      BTC_USDT,
      [ev(1, "done", "l", "cancelled"), ev(2, "done", "s", "cancelled")],
      pair,
      0,
    );
    expect(released(plan2, "carol")).toBe(660_000_000n);
    expect(plan2.orders.get("s")).toMatchObject({ lockedAmount: 660_000_000n, releasedAmount: 660_000_000n });
  });

  it("an amendment releases down to what the remaining quantity needs, once, and only when it holds the order", () => {
    // Dave's bid: 0.02 at 61,000 locked 1,220; amended to 0.01 at 60,000 → needs 600.
    const bid = order({
      id: "d",
      userId: "dave",
      side: "buy",
      lockedAmount: 1_220_000_000n,
      price: 61_000_000_000n,
      quantity: 2_000_000n,
      amendId: "x",
    });
    const entry = (seq: number, amendId?: string): OutboxEntry => ({
      seq,
      kind: "order",
      ts: seq,
      event: "amended",
      orderId: "d",
      userId: "dave",
      market: "BTC-USDT",
      price: "60000.00",
      quantity: "0.01000",
      remaining: "0.01000",
      ...(amendId ? { amendId } : {}),
    });
    const known = new Map([[bid.id, bid]]);
    // Another amendment holds the order: this entry changes price and quantity, releases nothing.
    const other = planSettlement(BTC_USDT, [entry(5, "y")], known, 0);
    expect(other.entries).toEqual([]);
    expect(other.orders.get("d")).toMatchObject({
      price: 60_000_000_000n,
      quantity: 1_000_000n,
      amendId: "x",
    });
    // Its own entry releases 620 and drops the hold.
    const own = planSettlement(BTC_USDT, [entry(5, "x")], known, 0);
    expect(released(own, "dave")).toBe(620_000_000n);
    expect(own.orders.get("d")).toMatchObject({ releasedAmount: 620_000_000n, amendId: null, amendSeq: 5 });
    // A replay (cursor lost) changes nothing.
    const again = planSettlement(BTC_USDT, [entry(5, "x")], applied(known, own), 0);
    expect(again.entries).toEqual([]);
    // A hold that had lapsed when the book amended is ignored: the book refuses its amendment
    // after that, so it needs nothing more; the entry releases and drops the hold.
    const lapsed = new Map([[bid.id, { ...bid, amendExpiresAt: 5 }]]);
    const afterLapse = planSettlement(BTC_USDT, [entry(5, "y")], lapsed, 0);
    expect(released(afterLapse, "dave")).toBe(620_000_000n);
    expect(afterLapse.orders.get("d")).toMatchObject({ amendId: null });
    const beforeLapse = new Map([[bid.id, { ...bid, amendExpiresAt: 6 }]]);
    expect(planSettlement(BTC_USDT, [entry(5, "y")], beforeLapse, 0).entries).toEqual([]);
  });
});
