import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { markets, orders } from "../../../src/db/schema";
import { configureOrderBook, loadMarketRules } from "../../../src/services/trading/market-directory";
import { TEST_ADMIN } from "../../setup/global-stack";
import { api, expectError, login } from "../auth/helpers";
import {
  balanceOf,
  createMarket,
  feesOfMarket,
  ledgerSum,
  placeOrder,
  placed,
  reservedByOpenOrders,
  trader,
  BTC,
  USDT,
  settle,
} from "./helpers";
import { toBookRules } from "../../../src/domain/market/market-rules";

describe("two users trade through the REST API", () => {
  it("resting order, partial fill, full fill, cancel of the remainder: every minor unit accounted for", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const bob = await trader({ USDT: "10000" });
    const sums = { BTC: await ledgerSum("BTC"), USDT: await ledgerSum("USDT") };

    // Alice rests 0.03 BTC at 64,000.
    const ask = await placed(alice, {
      market,
      side: "sell",
      type: "limit",
      price: "64000.00",
      quantity: "0.03",
    });
    expect(ask.order).toMatchObject({
      status: "new",
      filled_quantity: "0.00000000",
      remaining_quantity: "0.03000000",
    });
    expect(ask.fills).toEqual([]);
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.97"), locked: BTC("0.03") });

    // Bob takes 0.01 of it: Alice partially filled, Bob filled.
    const first = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "64000.00",
      quantity: "0.01",
    });
    expect(first.order.status).toBe("filled");
    expect(first.fills).toEqual([
      expect.objectContaining({
        price: "64000.000000",
        quantity: "0.01000000",
        fee: "0.00002000",
        fee_asset: "BTC",
        liquidity: "taker",
      }),
    ]);

    // Bob bids higher for 0.01 more: fills at Alice's 64,000; the 5 USDT of price improvement is released.
    const second = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "64500.00",
      quantity: "0.01",
    });
    expect(second.order.status).toBe("filled");
    await settle(market);

    const asks = await api("GET", `/api/v1/orders/${ask.order.id}`, { token: alice.token });
    expect(((await asks.json()) as { order: Record<string, string> }).order).toMatchObject({
      status: "partially_filled",
      filled_quantity: "0.02000000",
      remaining_quantity: "0.01000000",
    });

    // Alice cancels the remaining 0.01.
    const cancelled = await api("DELETE", `/api/v1/orders/${ask.order.id}`, { token: alice.token });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { order: Record<string, unknown> }).order).toMatchObject({
      status: "cancelled",
      filled_quantity: "0.02000000",
      remaining_quantity: "0.00000000",
      locked: { asset: "BTC", amount: "0.03000000", consumed: "0.02000000", released: "0.01000000" },
    });

    // Bob leaves a bid resting: its lock stays.
    const bid = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "63000.00",
      quantity: "0.01",
    });
    expect(bid.order.status).toBe("new");
    await settle(market);

    // Alice: sold 0.02 BTC for 1,280 USDT minus her 0.1 % maker fee (0.64 per fill).
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.98"), locked: 0n });
    expect(await balanceOf(alice.id, "USDT")).toEqual({ available: USDT("1278.72"), locked: 0n });
    // Bob: paid 1,280 USDT, got 0.02 BTC minus his 0.2 % taker fee (0.00002 per fill); 630 locked by the bid.
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.01996"), locked: 0n });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("8090"), locked: USDT("630") });
    // The fees sit in the fee account.
    expect(await feesOfMarket(market, "BTC")).toBe(BTC("0.00004"));
    expect(await feesOfMarket(market, "USDT")).toBe(USDT("1.28"));
    // Locked equals what the open orders still reserve.
    for (const [user, asset] of [
      [alice.id, "BTC"],
      [alice.id, "USDT"],
      [bob.id, "BTC"],
      [bob.id, "USDT"],
    ] as const) {
      expect((await balanceOf(user, asset)).locked).toBe(await reservedByOpenOrders(user, asset));
    }
    // Nothing was created or lost: per asset the sum over all accounts is unchanged.
    expect(await ledgerSum("BTC")).toBe(sums.BTC);
    expect(await ledgerSum("USDT")).toBe(sums.USDT);

    // History: Bob's two trades, his open order; Alice's closed order.
    const trades = (await (
      await api("GET", `/api/v1/trades?market=${market}`, { token: bob.token })
    ).json()) as {
      trades: { side: string; price: string; fee_asset: string; liquidity: string }[];
    };
    expect(trades.trades).toHaveLength(2);
    expect(
      trades.trades.every((t) => t.side === "buy" && t.fee_asset === "BTC" && t.liquidity === "taker"),
    ).toBe(true);
    const open = (await (
      await api("GET", `/api/v1/orders?state=open&market=${market}`, { token: bob.token })
    ).json()) as {
      orders: { id: string }[];
    };
    expect(open.orders.map((o) => o.id)).toEqual([bid.order.id]);
    const closed = (await (
      await api("GET", "/api/v1/orders?state=closed&limit=1", { token: alice.token })
    ).json()) as {
      orders: { id: string }[];
      next_cursor: string | null;
    };
    expect(closed.orders.map((o) => o.id)).toEqual([ask.order.id]);
  });
});

describe("funds", () => {
  it("concurrent orders that together need more than the balance: only those that fit are accepted", async () => {
    const market = await createMarket();
    const carol = await trader({ USDT: "1000" });
    // Each bid locks 300 USDT (0.005 BTC at 60,000): three fit in 1,000, seven do not.
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        placeOrder(carol, { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.005" }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    for (const r of results) if (r.status !== 201) await expectError(r, 422, "INSUFFICIENT_FUNDS");
    expect(await balanceOf(carol.id, "USDT")).toEqual({ available: USDT("100"), locked: USDT("900") });
    const rows = await withDatabase(env, (db) => db.select().from(orders).where(eq(orders.userId, carol.id)));
    expect(rows).toHaveLength(3); // a refused order leaves no row
  });

  it("a duplicate client_order_id makes one order", async () => {
    const market = await createMarket();
    const dave = await trader({ USDT: "1000" });
    const body = {
      market,
      side: "buy",
      type: "limit",
      price: "60000.00",
      quantity: "0.001",
      client_order_id: "dup-1",
    };
    const [a, b] = await Promise.all([placeOrder(dave, body), placeOrder(dave, body)]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    // The refusal names the order that has the id (a client retrying learns which one it was).
    const [won, lost] = a.status === 201 ? [a, b] : [b, a];
    const { order } = (await won.json()) as { order: { id: string } };
    expect(await lost.json()).toMatchObject({
      error: { code: "DUPLICATE_CLIENT_ORDER_ID", details: { order_id: order.id } },
    });
    const rows = await withDatabase(env, (db) => db.select().from(orders).where(eq(orders.userId, dave.id)));
    expect(rows).toHaveLength(1);
    expect(await balanceOf(dave.id, "USDT")).toEqual({ available: USDT("940"), locked: USDT("60") });
  });

  it("a replay with the same Idempotency-Key returns the first response; another body under it is a 422", async () => {
    const market = await createMarket();
    const gina = await trader({ USDT: "1000" });
    const body = { market, side: "buy", type: "limit", price: "60000.00", quantity: "0.001" };
    const headers = { "idempotency-key": `key-${crypto.randomUUID()}` };
    const first = await placeOrder(gina, body, headers);
    expect(first.status).toBe(201);
    const again = await placeOrder(gina, body, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    await expectError(
      await placeOrder(gina, { ...body, quantity: "0.002" }, headers),
      422,
      "IDEMPOTENCY_KEY_REUSED",
    );
    const rows = await withDatabase(env, (db) => db.select().from(orders).where(eq(orders.userId, gina.id)));
    expect(rows).toHaveLength(1);
    expect(await balanceOf(gina.id, "USDT")).toEqual({ available: USDT("940"), locked: USDT("60") });
  });

  it("cancelling another user's order is a 404 and touches neither the order nor the funds", async () => {
    const market = await createMarket();
    const erin = await trader({ BTC: "0.1" });
    const mallory = await trader();
    const { order } = await placed(erin, {
      market,
      side: "sell",
      type: "limit",
      price: "70000.00",
      quantity: "0.01",
    });
    await expectError(
      await api("DELETE", `/api/v1/orders/${order.id}`, { token: mallory.token }),
      404,
      "NOT_FOUND",
    );
    await expectError(
      await api("GET", `/api/v1/orders/${order.id}`, { token: mallory.token }),
      404,
      "NOT_FOUND",
    );
    const mine = (await (await api("GET", `/api/v1/orders/${order.id}`, { token: erin.token })).json()) as {
      order: { status: string };
    };
    expect(mine.order.status).toBe("new");
    expect(await balanceOf(erin.id, "BTC")).toEqual({ available: BTC("0.09"), locked: BTC("0.01") });
  });

  it("each market rule has its own error code, and nothing is locked", async () => {
    const market = await createMarket();
    const frank = await trader({ USDT: "100" });
    const cases: [Record<string, unknown>, string][] = [
      [{ price: "60000.001" }, "INVALID_TICK"],
      [{ quantity: "0.0000001" }, "INVALID_LOT"],
      [{ quantity: "0.00001" }, "NOTIONAL_TOO_SMALL"],
      [{ quantity: "1000" }, "QUANTITY_TOO_LARGE"],
      [{ quantity: 0.001 }, "VALIDATION_FAILED"],
    ];
    for (const [over, code] of cases) {
      const res = await placeOrder(frank, {
        market,
        side: "buy",
        type: "limit",
        price: "60000.00",
        quantity: "0.001",
        ...over,
      });
      await expectError(res, 422, code);
    }
    await expectError(
      await placeOrder(frank, { market: "NOPE-USDT", side: "buy", type: "limit", price: "1", quantity: "1" }),
      404,
      "MARKET_NOT_FOUND",
    );
    expect(await balanceOf(frank.id, "USDT")).toEqual({ available: USDT("100"), locked: 0n });
  });
});

describe("admin and halted markets", () => {
  it("an admin sees any user's orders and trades; a user cannot", async () => {
    const market = await createMarket();
    const ivan = await trader({ BTC: "0.1" });
    const { order } = await placed(ivan, {
      market,
      side: "sell",
      type: "limit",
      price: "70000.00",
      quantity: "0.01",
    });
    const admin = await login(TEST_ADMIN.email, TEST_ADMIN.password);
    const list = await api("GET", `/api/v1/admin/orders?user_id=${ivan.id}`, { token: admin.access_token });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { orders: { id: string }[] }).orders.map((o) => o.id)).toEqual([order.id]);
    const one = await api("GET", `/api/v1/admin/orders/${order.id}`, { token: admin.access_token });
    expect(one.status).toBe(200);
    const trades = await api("GET", `/api/v1/admin/trades?user_id=${ivan.id}`, { token: admin.access_token });
    expect(trades.status).toBe(200);
    await expectError(await api("GET", "/api/v1/admin/orders", { token: ivan.token }), 403);
  });

  it("halting a market refuses new orders and leaves open orders cancellable", async () => {
    const market = await createMarket();
    const judy = await trader({ BTC: "0.1" });
    const { order } = await placed(judy, {
      market,
      side: "sell",
      type: "limit",
      price: "70000.00",
      quantity: "0.01",
    });
    await withDatabase(env, async (db) => {
      await db.update(markets).set({ status: "halted" }).where(eq(markets.symbol, market));
      await configureOrderBook(env, toBookRules(await loadMarketRules(db, market, true)));
    });
    await expectError(
      await placeOrder(judy, { market, side: "sell", type: "limit", price: "70000.00", quantity: "0.01" }),
      409,
      "MARKET_HALTED",
    );
    const cancelled = await api("DELETE", `/api/v1/orders/${order.id}`, { token: judy.token });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { order: { status: string } }).order.status).toBe("cancelled");
    expect(await balanceOf(judy.id, "BTC")).toEqual({ available: BTC("0.1"), locked: 0n });
  });
});

describe("order types through REST", () => {
  it("market by quote, post-only, iceberg, stop-limit and trailing stop lock what they can consume", async () => {
    const market = await createMarket();
    const seller = await trader({ BTC: "1" });
    const buyer = await trader({ USDT: "10000" });
    await placed(seller, {
      market,
      side: "sell",
      type: "limit",
      price: "50000.00",
      quantity: "0.1",
      visible_quantity: "0.01",
    });
    // A market buy of 100 USDT takes 0.002 BTC (100 USDT at 50,000); nothing of the 100 is left over.
    const byQuote = await placed(buyer, { market, side: "buy", type: "market", quote_quantity: "100" });
    expect(byQuote.order).toMatchObject({ status: "filled", filled_quantity: "0.00200000" });
    // Post-only that would take: refused by the book, its lock released at once.
    const postOnly = await placeOrder(buyer, {
      market,
      side: "buy",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
      post_only: true,
    });
    const refused = await expectError(postOnly, 422, "ORDER_REJECTED");
    expect(refused.error.details).toMatchObject({ reason: "POST_ONLY_WOULD_TAKE" });
    // A stop-limit buy locks its limit price × quantity; a trailing stop sell locks its quantity.
    const stop = await placed(buyer, {
      market,
      side: "buy",
      type: "stop_limit",
      stop_price: "60000.00",
      price: "61000.00",
      quantity: "0.01",
    });
    expect(stop.order.locked).toMatchObject({ asset: "USDT", amount: "610.000000" });
    const trailing = await placed(seller, {
      market,
      side: "sell",
      type: "trailing_stop",
      trailing_offset: "100",
      quantity: "0.01",
    });
    expect(trailing.order.locked).toMatchObject({ asset: "BTC", amount: "0.01000000" });
    await settle(market);
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("9290"), locked: USDT("610") });
    expect(await balanceOf(buyer.id, "BTC")).toEqual({ available: BTC("0.001996"), locked: 0n });
    for (const id of [stop.order.id, trailing.order.id]) {
      const token = id === stop.order.id ? buyer.token : seller.token;
      expect((await api("DELETE", `/api/v1/orders/${id}`, { token })).status).toBe(200);
    }
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("9900"), locked: 0n });
    expect(await balanceOf(seller.id, "BTC")).toEqual({ available: BTC("0.9"), locked: BTC("0.098") });
  });
});
