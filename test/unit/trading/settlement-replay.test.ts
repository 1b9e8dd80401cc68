import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../../../durable-objects/engine";
import { formatUnits } from "../../../src/lib/money";
import { prepareOrder } from "../../../src/domain/market/order-input";
import { planSettlement, type OrderState, type OutboxEntry } from "../../../src/domain/settlement/plan";
import { BTC_USDT as rules } from "./fixtures";

/** Random crossing limit orders through the real engine, as the order book's outbox would list them. */
function outboxOf(script: { side: "buy" | "sell"; ticks: number; lots: number; user: number }[]) {
  const engine = new MatchingEngine();
  const orders = new Map<string, OrderState>();
  const outbox: OutboxEntry[] = [];
  let seq = 0;
  script.forEach((o, i) => {
    const prepared = prepareOrder(rules, {
      side: o.side,
      type: "limit",
      price: formatUnits(BigInt(o.ticks) * rules.tickSize, rules.quoteDecimals),
      quantity: formatUnits(BigInt(o.lots) * rules.lotSize, rules.baseDecimals),
    });
    const id = `o${i + 1}`;
    orders.set(id, {
      id,
      userId: `u${o.user}`,
      side: o.side,
      status: "pending",
      lockAsset: prepared.lock.asset,
      lockedAmount: prepared.lock.amount,
      consumedAmount: 0n,
      releasedAmount: 0n,
      filledQuantity: 0n,
      filledQuote: 0n,
    });
    engine.place({ ...prepared.engine, orderId: i + 1, userId: o.user });
    for (const e of engine.events.toArray()) {
      const ts = e.seq;
      if (e.type === "trade") {
        outbox.push({
          seq: ++seq,
          kind: "trade",
          ts,
          tradeId: `${rules.symbol}:${seq}`,
          market: rules.symbol,
          price: formatUnits(BigInt(e.price) * rules.tickSize, rules.quoteDecimals),
          quantity: formatUnits(BigInt(e.quantity) * rules.lotSize, rules.baseDecimals),
          takerSide: e.takerSide,
          takerOrderId: `o${e.takerOrderId}`,
          takerUserId: `u${e.takerUserId}`,
          makerOrderId: `o${e.makerOrderId}`,
          makerUserId: `u${e.makerUserId}`,
          makerFeeBps: rules.makerFeeBps,
          takerFeeBps: rules.takerFeeBps,
        });
      } else if (e.type === "accepted" || e.type === "done" || e.type === "rejected") {
        outbox.push({
          seq: ++seq,
          kind: "order",
          ts,
          event: e.type,
          orderId: `o${e.orderId}`,
          userId: `u${e.userId}`,
          market: rules.symbol,
          ...(e.type === "done" ? { status: e.reason } : {}),
        });
      }
    }
    engine.events.clear();
  });
  return { orders, outbox };
}

/** Applies batches like the settlement transaction does; returns each account's net movement. */
function settle(
  known: Map<string, OrderState>,
  outbox: OutboxEntry[],
  cuts: number[],
  replays: boolean[],
): { money: Map<string, bigint>; orders: Map<string, OrderState>; trades: number } {
  const orders = new Map([...known].map(([k, v]) => [k, { ...v }]));
  const money = new Map<string, bigint>();
  const settled = new Set<string>();
  let cursor = 0;
  let trades = 0;
  const batches: OutboxEntry[][] = [];
  let from = 0;
  for (const cut of [
    ...cuts.map((c) => Math.floor(c * outbox.length)).sort((a, b) => a - b),
    outbox.length,
  ]) {
    if (cut > from) batches.push(outbox.slice(from, cut));
    from = Math.max(from, cut);
  }
  batches.forEach((batch, i) => {
    const apply = (afterSeq: number) => {
      const plan = planSettlement(rules, batch, orders, afterSeq, settled);
      for (const e of plan.entries)
        for (const m of e.movements) {
          const key = `${m.account}:${m.userId ?? ""}:${m.asset}`;
          money.set(key, (money.get(key) ?? 0n) + m.amount);
        }
      for (const t of plan.trades) settled.add(t.tradeId);
      trades += plan.trades.length;
      // `closed_at` is written only when set, so the first close is kept, as in Postgres.
      for (const [id, { closedAt: _closedAt, ...o }] of plan.orders) orders.set(id, o);
      cursor = Math.max(cursor, plan.lastSeq);
    };
    apply(cursor);
    // A replay of the same batch: after the commit (cursor kept) or with the cursor lost.
    if (replays[i]) apply(i % 2 === 0 ? cursor : 0);
  });
  return { money, orders, trades };
}

describe("settlement batches", () => {
  const order = fc.record({
    side: fc.constantFrom("buy" as const, "sell" as const),
    ticks: fc.integer({ min: 6_399_995, max: 6_400_005 }),
    lots: fc.integer({ min: 8, max: 60 }),
    user: fc.integer({ min: 1, max: 3 }),
  });

  it("in any batching, with any replays, settle every fill exactly once and conserve every asset", () => {
    fc.assert(
      fc.property(
        fc.array(order, { minLength: 1, maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        fc.array(fc.boolean(), { maxLength: 50 }),
        (script, cuts, replays) => {
          const { orders, outbox } = outboxOf(script);
          const once = settle(orders, outbox, [], []);
          const split = settle(orders, outbox, cuts, replays);
          expect(split.trades).toBe(outbox.filter((e) => e.kind === "trade").length);
          expect(split.money).toEqual(once.money);
          expect(split.orders).toEqual(once.orders);
          const perAsset = new Map<string, bigint>();
          for (const [key, v] of split.money) {
            const asset = key.split(":")[2]!;
            perAsset.set(asset, (perAsset.get(asset) ?? 0n) + v);
          }
          for (const sum of perAsset.values()) expect(sum).toBe(0n);
          for (const o of split.orders.values()) {
            if (o.status === "filled" || o.status === "cancelled" || o.status === "expired") {
              expect(o.consumedAmount + o.releasedAmount).toBe(o.lockedAmount);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
