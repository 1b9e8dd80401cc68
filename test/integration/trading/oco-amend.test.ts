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
  feesOfMarket,
  ledgerSum,
  placed,
  placeOrder,
  reservedByOpenOrders,
  trader,
  type Trader,
  BTC,
  USDT,
  settle,
} from "./helpers";

type Order = Record<string, unknown> & { id: string; status: string; locked: Record<string, string> };

async function getOrder(t: Trader, id: string): Promise<Order> {
  const res = await api("GET", `/api/v1/orders/${id}`, { token: t.token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { order: Order }).order;
}

async function amend(t: Trader, id: string, body: Record<string, unknown>) {
  return api("PATCH", `/api/v1/orders/${id}`, { token: t.token, body });
}

async function amended(t: Trader, id: string, body: Record<string, unknown>) {
  const res = await amend(t, id, body);
  const json = (await res.json()) as { order: Order; fills: Record<string, string>[] };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json;
}

async function oco(t: Trader, body: Record<string, unknown>) {
  const res = await placeOrder(t, { type: "oco", ...body });
  const json = (await res.json()) as { order: Order; orders: Order[]; fills: Record<string, string>[] };
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json;
}

/**
 * The invariants after every step: each user's locked balance per asset is exactly what their
 * orders still reserve (locked − consumed − released; closed orders reserve 0), and per asset
 * the traders' balances plus the market's fees equal what they were funded with.
 */
async function expectBooksBalanced(
  market: string,
  traders: Trader[],
  funded: Record<string, bigint>,
  sums: Record<string, bigint>,
) {
  for (const asset of Object.keys(funded)) {
    let total = 0n;
    for (const t of traders) {
      const b = await balanceOf(t.id, asset);
      expect(b.locked, `${asset} locked of ${t.id}`).toBe(await reservedByOpenOrders(t.id, asset));
      total += b.available + b.locked;
    }
    expect(total + (await feesOfMarket(market, asset)), `${asset} conserved`).toBe(funded[asset]);
    expect(await ledgerSum(asset)).toBe(sums[asset]);
  }
}

async function ledgerSums() {
  return { BTC: await ledgerSum("BTC"), USDT: await ledgerSum("USDT") };
}

describe("OCO through POST /api/v1/orders", () => {
  it("sell: rests with one lock; the limit leg fills and the stop leg is cancelled", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const bob = await trader({ USDT: "10000" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("1"), USDT: USDT("10000") };

    const pair = await oco(alice, {
      market,
      side: "sell",
      price: "65000.00",
      stop_price: "60000.00",
      quantity: "0.01",
      client_order_id: "oco-1",
    });
    const [limit, stop] = pair.orders;
    expect(pair.order.id).toBe(limit!.id);
    expect(limit).toMatchObject({
      type: "limit",
      status: "new",
      price: "65000.000000",
      client_order_id: "oco-1",
      oco_group_id: limit!.id,
      locked: { asset: "BTC", amount: "0.01000000" },
    });
    expect(stop).toMatchObject({
      type: "stop_loss",
      status: "new",
      stop_price: "60000.000000",
      oco_group_id: limit!.id,
      locked: { asset: "BTC", amount: "0.00000000" },
    });
    // Locked once for the pair.
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.99"), locked: BTC("0.01") });
    await expectBooksBalanced(market, [alice, bob], funded, sums);

    // Bob takes the limit leg: the stop leg goes with the first fill.
    const taken = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "65000.00",
      quantity: "0.01",
    });
    expect(taken.order.status).toBe("filled");
    await settle(market);
    expect(await getOrder(alice, limit!.id)).toMatchObject({
      status: "filled",
      filled_quantity: "0.01000000",
      locked: { amount: "0.01000000", consumed: "0.01000000", released: "0.00000000" },
    });
    expect(await getOrder(alice, stop!.id)).toMatchObject({
      status: "cancelled",
      filled_quantity: "0.00000000",
    });
    // Alice sold 0.01 at 65,000 as maker (0.1 %): 650 − 0.65.
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.99"), locked: 0n });
    expect(await balanceOf(alice.id, "USDT")).toEqual({ available: USDT("649.35"), locked: 0n });
    // Bob paid 650, received 0.01 minus his 0.2 % taker fee.
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("9350"), locked: 0n });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.00998"), locked: 0n });
    await expectBooksBalanced(market, [alice, bob], funded, sums);
  });

  it("sell: the stop leg triggers and fills; the limit leg is cancelled and its lock moves to the stop leg", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const bob = await trader({ USDT: "10000" });
    const carol = await trader({ BTC: "1" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("2"), USDT: USDT("10000") };

    const pair = await oco(alice, {
      market,
      side: "sell",
      price: "61000.00",
      stop_price: "60000.00",
      quantity: "0.01",
    });
    const [limit, stop] = pair.orders;
    // Bob bids 59,000 for 0.02; Carol sells 0.005 into it: the print at 59,000 triggers Alice's stop,
    // whose market sell takes 0.01 more of Bob's bid.
    const bid = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "59000.00",
      quantity: "0.02",
    });
    await placed(carol, { market, side: "sell", type: "limit", price: "59000.00", quantity: "0.005" });
    await settle(market);

    expect(await getOrder(alice, limit!.id)).toMatchObject({
      status: "cancelled",
      filled_quantity: "0.00000000",
      locked: { amount: "0.00000000", consumed: "0.00000000", released: "0.00000000" },
    });
    expect(await getOrder(alice, stop!.id)).toMatchObject({
      status: "filled",
      filled_quantity: "0.01000000",
      locked: { amount: "0.01000000", consumed: "0.01000000", released: "0.00000000" },
    });
    expect(await getOrder(bob, bid.order.id!)).toMatchObject({
      status: "partially_filled",
      filled_quantity: "0.01500000",
    });
    // Alice: 590 minus her 0.2 % taker fee (1.18).
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.99"), locked: 0n });
    expect(await balanceOf(alice.id, "USDT")).toEqual({ available: USDT("588.82"), locked: 0n });
    // Carol: 295 minus 0.59.
    expect(await balanceOf(carol.id, "USDT")).toEqual({ available: USDT("294.41"), locked: 0n });
    // Bob: paid 885, 295 still locked by the rest of his bid; got 0.015 BTC minus 0.1 % maker fees.
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("8820"), locked: USDT("295") });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.014985"), locked: 0n });
    await expectBooksBalanced(market, [alice, bob, carol], funded, sums);
  });

  it("POST /api/v1/orders/oco (SPEC's address) places the same pair without a type", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const res = await api("POST", "/api/v1/orders/oco", {
      token: alice.token,
      body: { market, side: "sell", price: "65000.00", stop_price: "60000.00", quantity: "0.1" },
    });
    const json = (await res.json()) as { orders: Order[] };
    expect(res.status, JSON.stringify(json)).toBe(201);
    expect(json.orders.map((o) => o.type)).toEqual(["limit", "stop_loss"]);
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.9"), locked: BTC("0.1") });
    const single = await api("POST", "/api/v1/orders/oco", {
      token: alice.token,
      body: { market, side: "sell", type: "limit", price: "65000.00", quantity: "0.1" },
    });
    expect(single.status).toBe(422); // VALIDATION_FAILED: this route is for OCO only
  });

  it("cancelling either leg cancels the pair and releases the whole lock once", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const sums = await ledgerSums();
    const pair = await oco(alice, {
      market,
      side: "sell",
      price: "65000.00",
      stop_price: "60000.00",
      stop_limit_price: "59900.00",
      quantity: "0.2",
    });
    const [limit, stop] = pair.orders;
    expect(stop).toMatchObject({ type: "stop_limit", price: "59900.000000" });
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.8"), locked: BTC("0.2") });

    const res = await api("DELETE", `/api/v1/orders/${stop!.id}`, { token: alice.token });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { order: Order }).order.status).toBe("cancelled");
    expect(await getOrder(alice, limit!.id)).toMatchObject({
      status: "cancelled",
      locked: { amount: "0.20000000", consumed: "0.00000000", released: "0.20000000" },
    });
    expect(await getOrder(alice, stop!.id)).toMatchObject({ status: "cancelled" });
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("1"), locked: 0n });
    await expectBooksBalanced(market, [alice], { BTC: BTC("1"), USDT: 0n }, sums);
    // Cancelling the other leg now is a 409: the pair is closed.
    await expectError(
      await api("DELETE", `/api/v1/orders/${limit!.id}`, { token: alice.token }),
      409,
      "ORDER_NOT_OPEN",
    );
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("1"), locked: 0n });
  });

  it("buy: locks the larger leg's need; the limit leg fills and the rest is released", async () => {
    const market = await createMarket();
    const bob = await trader({ USDT: "10000" });
    const alice = await trader({ BTC: "1" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("1"), USDT: USDT("10000") };

    const pair = await oco(bob, {
      market,
      side: "buy",
      price: "60000.00",
      stop_price: "65000.00",
      stop_limit_price: "66000.00",
      quantity: "0.01",
    });
    // max(600, 660): the stop-limit leg needs more.
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("9340"), locked: USDT("660") });
    expect(pair.order.locked).toMatchObject({ asset: "USDT", amount: "660.000000" });
    await expectBooksBalanced(market, [alice, bob], funded, sums);

    await placed(alice, { market, side: "sell", type: "limit", price: "60000.00", quantity: "0.01" });
    await settle(market);
    expect(await getOrder(bob, pair.orders[0]!.id)).toMatchObject({
      status: "filled",
      locked: { amount: "660.000000", consumed: "600.000000", released: "60.000000" },
    });
    expect(await getOrder(bob, pair.orders[1]!.id)).toMatchObject({ status: "cancelled" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("9400"), locked: 0n });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.00999"), locked: 0n });
    await expectBooksBalanced(market, [alice, bob], funded, sums);
  });

  it("buy: the stop-limit leg triggers and fills below its limit; the unused part is released", async () => {
    const market = await createMarket();
    const bob = await trader({ USDT: "10000" });
    const alice = await trader({ BTC: "1" });
    const carol = await trader({ USDT: "10000" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("1"), USDT: USDT("20000") };

    const pair = await oco(bob, {
      market,
      side: "buy",
      price: "63000.00",
      stop_price: "64000.00",
      stop_limit_price: "64600.00",
      quantity: "0.01",
    });
    await placed(alice, { market, side: "sell", type: "limit", price: "64500.00", quantity: "0.02" });
    // Carol's buy prints 64,500: Bob's stop triggers, its limit leg is cancelled, and the
    // stop-limit buy at 64,600 takes 0.01 of Alice's ask at 64,500.
    await placed(carol, { market, side: "buy", type: "limit", price: "64500.00", quantity: "0.005" });
    await settle(market);
    expect(await getOrder(bob, pair.orders[0]!.id)).toMatchObject({
      status: "cancelled",
      locked: { amount: "0.000000" },
    });
    expect(await getOrder(bob, pair.orders[1]!.id)).toMatchObject({
      status: "filled",
      locked: { amount: "646.000000", consumed: "645.000000", released: "1.000000" },
    });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("9355"), locked: 0n });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.00998"), locked: 0n });
    await expectBooksBalanced(market, [alice, bob, carol], funded, sums);
  });

  it("refuses what the pair cannot be: an unbounded buy, prices on the wrong side, single-order fields", async () => {
    const market = await createMarket();
    const bob = await trader({ USDT: "100" });
    const base = { market, type: "oco", quantity: "0.01" };
    await expectError(
      await placeOrder(bob, { ...base, side: "buy", price: "60000.00", stop_price: "65000.00" }),
      422,
      "UNBOUNDED_BUY",
    );
    await expectError(
      await placeOrder(bob, {
        ...base,
        side: "buy",
        price: "66000.00",
        stop_price: "65000.00",
        stop_limit_price: "66000.00",
      }),
      422,
      "INVALID_ORDER",
    );
    await expectError(
      await placeOrder(bob, {
        ...base,
        side: "sell",
        price: "65000.00",
        stop_price: "60000.00",
        post_only: true,
      }),
      422,
      "INVALID_ORDER",
    );
    await expectError(
      await placeOrder(bob, { ...base, side: "sell", price: "65000.005", stop_price: "60000.00" }),
      422,
    );
    // Not enough USDT for the larger leg: nothing is written, nothing locked.
    await expectError(
      await placeOrder(bob, {
        ...base,
        side: "buy",
        price: "6000.00",
        stop_price: "6500.00",
        stop_limit_price: "10001.00",
      }),
      422,
      "INSUFFICIENT_FUNDS",
    );
    await expectError(
      await placeOrder(bob, {
        market,
        side: "buy",
        type: "limit",
        price: "6000.00",
        quantity: "0.001",
        stop_limit_price: "1.00",
      }),
      422,
      "INVALID_ORDER",
    );
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("100"), locked: 0n });
  });
});

describe("amend through PATCH /api/v1/orders/{id}", () => {
  it("price up locks more (422 when it cannot), quantity down releases, then the order fills", async () => {
    const market = await createMarket();
    const bob = await trader({ USDT: "1000" });
    const alice = await trader({ BTC: "1" });
    const carol = await trader({ USDT: "1000" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("1"), USDT: USDT("2000") };

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
    await expectBooksBalanced(market, [alice, bob, carol], funded, sums);

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
    await expectBooksBalanced(market, [alice, bob, carol], funded, sums);

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
    await expectBooksBalanced(market, [alice, bob, carol], funded, sums);

    // A filled order: 409, nothing moves.
    await expectError(await amend(bob, order.id!, { price: "60000.00" }), 409, "ORDER_NOT_OPEN");
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("695"), locked: 0n });
  });

  it("after a partial fill: price down releases, quantity up locks, a crossing amend trades; sells follow their base", async () => {
    const market = await createMarket();
    const bob = await trader({ USDT: "2000" });
    const alice = await trader({ BTC: "1" });
    const sums = await ledgerSums();
    const funded = { BTC: BTC("1"), USDT: USDT("2000") };

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
    await expectBooksBalanced(market, [alice, bob], funded, sums);

    // Total 0.03 (0.025 remaining) × 59,000 = 1,475: 590 more.
    await amended(bob, bid.order.id!, { quantity: "0.03" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("225"), locked: USDT("1475") });
    await expectBooksBalanced(market, [alice, bob], funded, sums);

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
    await expectBooksBalanced(market, [alice, bob], funded, sums);

    // Bob cancels the rest: everything back.
    await api("DELETE", `/api/v1/orders/${bid.order.id}`, { token: bob.token });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("1228"), locked: 0n });
    await expectBooksBalanced(market, [alice, bob], funded, sums);
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
      await configureOrderBook(env, await loadMarketRules(db, market, true));
    });
    await expectError(await amend(alice, order.id!, { quantity: "0.005" }), 409, "MARKET_HALTED");
    expect(await getOrder(alice, order.id!)).toMatchObject({ quantity: "0.01000000", status: "new" });
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.97"), locked: BTC("0.03") });
    expect(await balanceOf(alice.id, "BTC")).toMatchObject({
      locked: await reservedByOpenOrders(alice.id, "BTC"),
    });
  });
});
