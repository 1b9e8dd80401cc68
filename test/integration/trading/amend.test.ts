// Amending an open order through the API: locks first, releases after the book confirms.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { markets } from "../../../src/db/schema";
import {
  configureOrderBook,
  loadMarketRules,
  orderBook,
} from "../../../src/services/trading/market-directory";
import { api, expectError } from "../auth/helpers";
import {
  balanceOf,
  createMarket,
  getOrder,
  tradingFloor,
  oco,
  placed,
  reservedByOpenOrders,
  settle,
  trader,
  type Order,
  type Trader,
  BTC,
  USDT,
} from "./helpers";
import { toBookRules } from "../../../src/domain/market/market-rules";

async function amend(t: Trader, id: string, body: Record<string, unknown>) {
  return api("PATCH", `/api/v1/orders/${id}`, { token: t.token, body });
}

async function amended(t: Trader, id: string, body: Record<string, unknown>) {
  const res = await amend(t, id, body);
  const json = (await res.json()) as { order: Order; fills: Record<string, string>[] };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

describe("amend through PATCH /api/v1/orders/{id}", () => {
  it("price up locks more (422 when it cannot), quantity down releases, then the order fills", async () => {
    const { market, bob, alice, carol, expectBalanced } = await tradingFloor({
      bob: { USDT: "1000" },
      alice: { BTC: "1" },
      carol: { USDT: "1000" },
    });

    const { order } = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "60000.00",
      quantity: "0.01",
    });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("400"), locked: USDT("600") });

    // Price up: 10 more locked.
    const up = await amended(bob, order.id!, { price: "61000.00" });
    expect(up.order).toMatchObject({ status: "new", price: "61000.000000", quantity: "0.01000000" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("390"), locked: USDT("610") });
    await expectBalanced();

    // Beyond the balance: 422, nothing changes (in Postgres or in the book).
    await expectError(await amend(bob, order.id!, { price: "200000.00" }), 422, "INSUFFICIENT_FUNDS");
    expect(await getOrder(bob, order.id!)).toMatchObject({ price: "61000.000000", quantity: "0.01000000" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("390"), locked: USDT("610") });
    const depth = await orderBook(env, market).depth(5);
    expect(depth?.bids).toEqual([["61000.00", "0.01000"]]);

    // Validated like a placement.
    await expectError(await amend(bob, order.id!, { price: "61000.005" }), 422);
    await expectError(await amend(bob, order.id!, { price: "61000.01", quantity: "0.000001" }), 422);
    await expectError(await amend(bob, order.id!, { quantity: "0.00005" }), 422, "NOTIONAL_TOO_SMALL");
    await expectError(await amend(bob, order.id!, {}), 422, "INVALID_ORDER");

    // Another user's order: 404 and untouched.
    await expectError(await amend(carol, order.id!, { price: "1000.00" }), 404, "NOT_FOUND");
    expect(await getOrder(bob, order.id!)).toMatchObject({ price: "61000.000000" });

    // Quantity down: 305 released.
    const down = await amended(bob, order.id!, { quantity: "0.005" });
    expect(down.order).toMatchObject({ quantity: "0.00500000", remaining_quantity: "0.00500000" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("695"), locked: USDT("305") });
    await expectBalanced();

    // Alice fills it.
    await placed(alice, { market, side: "sell", type: "limit", price: "61000.00", quantity: "0.005" });
    await settle(market);
    expect(await getOrder(bob, order.id!)).toMatchObject({
      status: "filled",
      filled_quantity: "0.00500000",
      locked: { amount: "610.000000", consumed: "305.000000", released: "305.000000" },
    });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("695"), locked: 0n });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.004995"), locked: 0n });
    await expectBalanced();

    // A filled order: 409, nothing moves.
    await expectError(await amend(bob, order.id!, { price: "60000.00" }), 409, "ORDER_NOT_OPEN");
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("695"), locked: 0n });
  });

  it("after a partial fill: price down releases, quantity up locks, a crossing amend trades; sells follow their base", async () => {
    const { market, bob, alice, expectBalanced } = await tradingFloor({
      bob: { USDT: "2000" },
      alice: { BTC: "1" },
    });

    const bid = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "60000.00",
      quantity: "0.02",
    });
    await placed(alice, { market, side: "sell", type: "limit", price: "60000.00", quantity: "0.005" });
    await settle(market);
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("800"), locked: USDT("900") });

    // 59,000 × the remaining 0.015 = 885: 15 released.
    await amended(bob, bid.order.id!, { price: "59000.00" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("815"), locked: USDT("885") });
    await expectBalanced();

    // Total 0.03 (0.025 remaining) × 59,000 = 1,475: 590 more.
    await amended(bob, bid.order.id!, { quantity: "0.03" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("225"), locked: USDT("1475") });
    await expectBalanced();

    // Alice's ask at 59,500 rests; she amends her sell down to 59,000 and crosses Bob's bid.
    const ask = await placed(alice, {
      market,
      side: "sell",
      type: "limit",
      price: "59500.00",
      quantity: "0.01",
    });
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.985"), locked: BTC("0.01") });
    const cross = await amended(alice, ask.order.id!, { price: "59000.00", quantity: "0.008" });
    expect(cross.fills).toEqual([
      expect.objectContaining({
        order_id: ask.order.id,
        price: "59000.000000",
        quantity: "0.00800000",
        liquidity: "taker",
      }),
    ]);
    expect(cross.order).toMatchObject({ status: "filled", filled_quantity: "0.00800000" });
    // Alice's sell: 0.008 of 0.01 consumed, 0.002 released.
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.987"), locked: 0n });
    // Bob: 0.008 × 59,000 = 472 consumed from the lock.
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("225"), locked: USDT("1003") });
    await expectBalanced();

    // Bob cancels the rest: everything back.
    await api("DELETE", `/api/v1/orders/${bid.order.id}`, { token: bob.token });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("1228"), locked: 0n });
    await expectBalanced();
  });

  it("OCO legs and waiting stops are not amendable; halted markets refuse amends", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const pair = await oco(alice, {
      market,
      side: "sell",
      price: "65000.00",
      stop_price: "60000.00",
      quantity: "0.01",
    });
    await expectError(
      await amend(alice, pair.orders[0]!.id, { price: "66000.00" }),
      409,
      "ORDER_NOT_AMENDABLE",
    );
    const stop = await placed(alice, {
      market,
      side: "sell",
      type: "stop_limit",
      stop_price: "63000.00",
      price: "62900.00",
      quantity: "0.01",
    });
    await expectError(await amend(alice, stop.order.id!, { price: "62800.00" }), 409, "ORDER_NOT_AMENDABLE");
    const { order } = await placed(alice, {
      market,
      side: "sell",
      type: "limit",
      price: "66000.00",
      quantity: "0.01",
    });
    await withDatabase(env, async (db) => {
      await db.update(markets).set({ status: "halted" }).where(eq(markets.symbol, market));
      await configureOrderBook(env, toBookRules(await loadMarketRules(db, market, true)));
    });
    await expectError(await amend(alice, order.id!, { quantity: "0.005" }), 409, "MARKET_HALTED");
    expect(await getOrder(alice, order.id!)).toMatchObject({ quantity: "0.01000000", status: "new" });
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.97"), locked: BTC("0.03") });
    expect(await balanceOf(alice.id, "BTC")).toMatchObject({
      locked: await reservedByOpenOrders(alice.id, "BTC"),
    });
  });
});
