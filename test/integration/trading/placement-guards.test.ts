// What a placement may not do: overdraw, repeat, touch another user's order, break a market rule.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { api, expectError } from "../auth/helpers";
import { balanceOf, createMarket, placeOrder, placed, trader, BTC, USDT } from "./helpers";

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
