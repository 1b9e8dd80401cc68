import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { balanceOf, createMarket, placed, placeOrder, trader } from "../trading/helpers";
import { account, api, login } from "../auth/helpers";
import { WsClient } from "./ws-client";

async function adminToken(): Promise<string> {
  return (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
}

const NEW_MARKET = {
  symbol: "ETH-USDC",
  base_asset: "ETH",
  quote_asset: "USDC",
  tick_size: "0.01",
  lot_size: "0.0001",
  min_quantity: "0.0001",
  max_quantity: "1000",
  min_notional: "5",
  maker_fee_bps: 5,
  taker_fee_bps: 15,
};

describe("admin market routes", () => {
  it("creates a market, halts it, refuses tick changes on a live book, and only for admins", async () => {
    const token = await adminToken();
    const user = await account();
    const userToken = (await login(user.email)).access_token;

    expect((await api("POST", "/api/v1/admin/markets", { body: NEW_MARKET })).status).toBe(401);
    expect((await api("POST", "/api/v1/admin/markets", { body: NEW_MARKET, token: userToken })).status).toBe(
      403,
    );

    await api("GET", "/api/v1/markets"); // fills the cache, which the creation must drop
    const created = await api("POST", "/api/v1/admin/markets", { body: NEW_MARKET, token });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      market: {
        symbol: "ETH-USDC",
        tick_size: "0.010000",
        lot_size: "0.000100000000000000",
        status: "trading",
      },
    });
    const again = await api("POST", "/api/v1/admin/markets", { body: NEW_MARKET, token });
    expect(again.status).toBe(409);
    const list = (await (await api("GET", "/api/v1/markets")).json()) as { markets: { symbol: string }[] };
    expect(list.markets.map((m) => m.symbol)).toContain("ETH-USDC");

    const buyer = await trader({ USDC: "5000" });
    const order = { market: "ETH-USDC", side: "buy", type: "limit", price: "3000", quantity: "1" };
    await placed(buyer, order);

    const halted = await api("PATCH", "/api/v1/admin/markets/ETH-USDC", {
      body: { status: "halted" },
      token,
    });
    expect(halted.status).toBe(200);
    const refused = await placeOrder(buyer, order);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "MARKET_HALTED" } });
    // The refusal locked nothing: only the resting order's 3,000 USDC is held.
    expect(await balanceOf(buyer.id, "USDC")).toEqual({ available: 2_000_000_000n, locked: 3_000_000_000n });
    const one = (await (await api("GET", "/api/v1/markets/ETH-USDC")).json()) as {
      market: { status: string };
    };
    expect(one.market.status).toBe("halted");

    const tick = await api("PATCH", "/api/v1/admin/markets/ETH-USDC", { body: { tick_size: "0.1" }, token });
    expect(tick.status).toBe(409);
    const bad = await api("PATCH", "/api/v1/admin/markets/ETH-USDC", { body: { min_notional: 5 }, token });
    expect(bad.status).toBe(422);
    expect(
      (await api("PATCH", "/api/v1/admin/markets/NOPE-USDC", { body: { status: "halted" }, token })).status,
    ).toBe(404);
    const dropped = await api("POST", "/api/v1/admin/markets/ETH-USDC/cache/invalidate", { token });
    expect(dropped.status).toBe(200);
  });
});

describe("the private orders channel", () => {
  it("an authenticated socket gets its own order updates only", async () => {
    const symbol = await createMarket();
    const alice = await trader({ USDT: "10000" });
    const bob = await trader({ BTC: "1" });
    const res = await SELF.fetch(`http://x/api/v1/ws?market=${symbol}`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${alice.token}` },
    });
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    const client = WsClient.wrap(res.webSocket!);
    client.send({ op: "subscribe", id: 1, channels: ["orders"] });
    expect(await client.next((f) => f.type === "snapshot")).toMatchObject({
      channel: `orders:${symbol}`,
      orders: [],
    });

    await placed(bob, { market: symbol, side: "sell", type: "limit", price: "64500", quantity: "0.1" });
    const mine = await placed(alice, {
      market: symbol,
      side: "buy",
      type: "limit",
      price: "64000",
      quantity: "0.1",
    });
    const frame = await client.next((f) => f.type === "order");
    expect(frame).toMatchObject({
      channel: `orders:${symbol}`,
      event: "accepted",
      orderId: mine.order.id,
      userId: alice.id,
    });
    expect((await api("DELETE", `/api/v1/orders/${mine.order.id}`, { token: alice.token })).status).toBe(200);
    await client.next((f) => f.type === "order" && f.event === "done");
    expect(client.frames.filter((f) => f.type === "order").every((f) => f.userId === alice.id)).toBe(true);
    client.close();
  });

  it("a public socket can authenticate with an auth message; a bad token is refused", async () => {
    const user = await account();
    const tokens = await login(user.email);
    const client = await WsClient.connect("BTC-USDT");
    client.send({ op: "auth", id: 1, token: "not-a-token" });
    expect(await client.next((f) => f.type === "error")).toMatchObject({ id: 1, code: "UNAUTHORIZED" });
    client.send({ op: "auth", id: 2, token: tokens.access_token });
    expect(await client.next((f) => f.type === "authenticated")).toEqual({
      type: "authenticated",
      id: 2,
      user_id: user.id,
    });
    client.send({ op: "subscribe", id: 3, channels: ["orders:BTC-USDT"] });
    expect(await client.next((f) => f.type === "subscribed")).toMatchObject({ id: 3 });
    client.close();
  });
});
