import { describe, expect, it } from "vitest";
import { api } from "../auth/helpers";
import { balanceOf, createMarket, placed, trader, BTC, USDT, type Trader } from "../trading/helpers";
import { WsClient, type Frame } from "./ws-client";

/** A socket on `market`, authenticated with an `auth` message. */
async function traderSocket(market: string, t: Trader): Promise<WsClient> {
  const client = await WsClient.connect(market);
  client.send({ op: "auth", id: "a", token: t.token });
  await client.next((f) => f.type === "authenticated");
  return client;
}

/** Sends one op and waits for its reply (a `result` or an `error` with the same id). */
async function call(client: WsClient, message: { op: string; id: number } & Record<string, unknown>) {
  const from = client.frames.length;
  client.send(message);
  return client.next((f) => (f.type === "result" || f.type === "error") && f.id === message.id, from);
}

const code = (f: Frame) => (f.error as { code: string }).code;

describe("WebSocket order entry", () => {
  it("places, amends and cancels with the REST bodies, answers and locks", async () => {
    const market = await createMarket();
    const ann = await trader({ USDT: "10000" });
    const bob = await trader({ BTC: "1" });
    const ws = await traderSocket(market, ann);

    const resting = await call(ws, {
      op: "order.place",
      id: 1,
      order: { side: "buy", type: "limit", price: "60000.00", quantity: "0.01", client_order_id: "ws-1" },
    });
    expect(resting).toMatchObject({
      type: "result",
      id: 1,
      result: { order: { market, side: "buy", status: "new", client_order_id: "ws-1" }, fills: [] },
    });
    const orderId = (resting.result as { order: { id: string } }).order.id;
    expect(await balanceOf(ann.id, "USDT")).toEqual({ available: USDT("9400"), locked: USDT("600") });

    // A seller takes part of it; the buyer's socket then amends the rest and cancels it.
    await placed(bob, { market, side: "sell", type: "limit", price: "60000.00", quantity: "0.004" });
    const amended = await call(ws, {
      op: "order.amend",
      id: 2,
      order_id: orderId,
      order: { price: "59000.00" },
    });
    expect(amended).toMatchObject({
      type: "result",
      id: 2,
      result: { order: { id: orderId, price: "59000.000000" } },
    });
    const cancelled = await call(ws, { op: "order.cancel", id: 3, client_order_id: "ws-1" });
    expect(cancelled).toEqual({ type: "result", id: 3, result: { cancelled: [orderId] } });

    // Nothing left to take: a market buy by quote amount expires, its lock released.
    const taken = await call(ws, {
      op: "order.place",
      id: 4,
      order: { market, side: "buy", type: "market", quote_quantity: "100" },
    });
    expect(taken, JSON.stringify(taken)).toMatchObject({
      type: "result",
      id: 4,
      result: { order: { status: "expired" }, fills: [] },
    });
    ws.close();
  });

  it("refuses as REST does, with an error frame that carries a code, and keeps serving", async () => {
    const market = await createMarket();
    const cy = await trader({ USDT: "100" });
    const ws = await traderSocket(market, cy);
    const refusals: [Record<string, unknown>, string][] = [
      [{ side: "buy", type: "limit", price: "60000.00" }, "INVALID_ORDER"],
      [{ side: "buy", type: "limit", price: "60000.001", quantity: "0.001" }, "INVALID_TICK"],
      [{ side: "sideways", type: "limit", price: "1", quantity: "1" }, "VALIDATION_FAILED"],
      // Past the socket's lean check, the REST schema words these: a JSON number, an unknown field.
      [{ side: "buy", type: "limit", price: 60000, quantity: "0.001" }, "VALIDATION_FAILED"],
      [{ side: "buy", type: "limit", price: "1.00", quantity: "0.001", leverage: "10" }, "VALIDATION_FAILED"],
      [{ side: "buy", type: "limit", price: "60000.00", quantity: "0.01" }, "INSUFFICIENT_FUNDS"],
      [{ market: "BTC-USDT", side: "buy", type: "limit", price: "1.00", quantity: "0.001" }, "INVALID_ORDER"],
    ];
    let id = 10;
    for (const [order, expected] of refusals) {
      const reply = await call(ws, { op: "order.place", id: ++id, order });
      expect(reply.type, JSON.stringify(reply)).toBe("error");
      expect(code(reply), JSON.stringify(reply)).toBe(expected);
    }
    expect(code(await call(ws, { op: "order.cancel", id: 30, order_id: crypto.randomUUID() }))).toBe(
      "NOT_FOUND",
    );
    const malformed = ws.frames.length;
    ws.send("{not json");
    expect(await ws.next((f) => f.type === "error", malformed)).toMatchObject({ code: "MALFORMED_JSON" });
    ws.send({ op: "ping", id: 31 });
    expect(await ws.next((f) => f.type === "pong")).toMatchObject({ id: 31 });
    expect(ws.closed).toBeNull();
    expect(await balanceOf(cy.id, "USDT")).toEqual({ available: USDT("100"), locked: 0n });
    ws.close();
  });

  it("needs an authenticated socket of a live session whose owner may trade", async () => {
    const market = await createMarket();
    const anonymous = await WsClient.connect(market);
    const order = { side: "sell", type: "limit", price: "70000.00", quantity: "0.001" };
    expect(code(await call(anonymous, { op: "order.place", id: 1, order }))).toBe("UNAUTHORIZED");
    anonymous.close();

    const dee = await trader({ BTC: "0.01" });
    const logout = await api("POST", "/api/v1/users/me/logout", { token: dee.token });
    expect(logout.status).toBeLessThan(300);
    const stale = await WsClient.connect(market);
    stale.send({ op: "auth", id: 2, token: dee.token });
    expect(await stale.next((f) => f.type === "error")).toMatchObject({ id: 2, code: "UNAUTHORIZED" });
    expect(code(await call(stale, { op: "order.place", id: 3, order }))).toBe("UNAUTHORIZED");
    stale.close();
    expect(await balanceOf(dee.id, "BTC")).toEqual({ available: BTC("0.01"), locked: 0n });
  });

  it("places an order.batch of many orders in one frame, each on its own, in order", async () => {
    const market = await createMarket();
    const ann = await trader({ USDT: "1000" });
    const ws = await traderSocket(market, ann);
    // 60 bids of 10 USDT each (a frame far over the anonymous 4 KiB), one malformed, and the last
    // asking for 10,000 USDT, more than the 58 before it leave.
    const orders: Record<string, unknown>[] = Array.from({ length: 60 }, (_, i) => ({
      side: "buy",
      type: "limit",
      price: (10_000 + i).toFixed(2),
      quantity: "0.001",
      client_order_id: `b-${i}`,
    }));
    orders[1] = { side: "buy", type: "limit", price: "abc", quantity: "0.001" };
    orders[59] = { side: "buy", type: "limit", price: "10000.00", quantity: "1" };
    expect(JSON.stringify({ op: "order.batch", id: 9, orders }).length).toBeGreaterThan(4096);
    const reply = await call(ws, { op: "order.batch", id: 9, orders });
    expect(reply.type).toBe("result");
    const results = (
      reply.result as { results: { order?: { client_order_id: string }; error?: { code: string } }[] }
    ).results;
    expect(results).toHaveLength(60);
    expect(results[1]!.error?.code).toBe("VALIDATION_FAILED");
    expect(results[59]!.error?.code).toBe("INSUFFICIENT_FUNDS");
    const placedIds = results.filter((r) => r.order).map((r) => r.order!.client_order_id);
    expect(placedIds).toEqual(orders.flatMap((o, i) => (i === 1 || i === 59 ? [] : [`b-${i}`])));
    const locked = placedIds.reduce(
      (sum, id) => sum + USDT((10_000 + Number(id.slice(2))).toFixed(2)) / 1000n,
      0n,
    );
    expect(await balanceOf(ann.id, "USDT")).toEqual({ available: USDT("1000") - locked, locked });
    // The socket keeps serving.
    expect(await call(ws, { op: "order.cancel", id: 10, client_order_id: "b-0" })).toMatchObject({
      type: "result",
    });
  });
});
