// OCO pairs through the API: one lock for both legs, moved to the surviving leg and released once.
import { describe, expect, it } from "vitest";
import { api, expectError } from "../auth/helpers";
import {
  balanceOf,
  createMarket,
  getOrder,
  tradingFloor,
  oco,
  placed,
  placeOrder,
  settle,
  trader,
  type Order,
  BTC,
  USDT,
} from "./helpers";

describe("OCO through POST /api/v1/orders", () => {
  it("sell: rests with one lock; the limit leg fills and the stop leg is cancelled", async () => {
    const { market, alice, bob, expectBalanced } = await tradingFloor({
      alice: { BTC: "1" },
      bob: { USDT: "10000" },
    });

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
    await expectBalanced();

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
    await expectBalanced();
  });

  it("sell: the stop leg triggers and fills; the limit leg is cancelled and its lock moves to the stop leg", async () => {
    const { market, alice, bob, carol, expectBalanced } = await tradingFloor({
      alice: { BTC: "1" },
      bob: { USDT: "10000" },
      carol: { BTC: "1" },
    });

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
    await expectBalanced();
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
    const { market, alice, expectBalanced } = await tradingFloor({ alice: { BTC: "1" } });
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
    await expectBalanced();
    // Cancelling the other leg now is a 409: the pair is closed.
    await expectError(
      await api("DELETE", `/api/v1/orders/${limit!.id}`, { token: alice.token }),
      409,
      "ORDER_NOT_OPEN",
    );
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("1"), locked: 0n });
  });

  it("buy: locks the larger leg's need; the limit leg fills and the rest is released", async () => {
    const { market, bob, alice, expectBalanced } = await tradingFloor({
      bob: { USDT: "10000" },
      alice: { BTC: "1" },
    });

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
    await expectBalanced();

    await placed(alice, { market, side: "sell", type: "limit", price: "60000.00", quantity: "0.01" });
    await settle(market);
    expect(await getOrder(bob, pair.orders[0]!.id)).toMatchObject({
      status: "filled",
      locked: { amount: "660.000000", consumed: "600.000000", released: "60.000000" },
    });
    expect(await getOrder(bob, pair.orders[1]!.id)).toMatchObject({ status: "cancelled" });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("9400"), locked: 0n });
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.00999"), locked: 0n });
    await expectBalanced();
  });

  it("buy: the stop-limit leg triggers and fills below its limit; the unused part is released", async () => {
    const { market, bob, alice, carol, expectBalanced } = await tradingFloor({
      bob: { USDT: "10000" },
      alice: { BTC: "1" },
      carol: { USDT: "10000" },
    });

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
    await expectBalanced();
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
