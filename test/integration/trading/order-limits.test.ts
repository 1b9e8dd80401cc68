import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { api, expectError, login } from "../auth/helpers";
import { WsClient, type Frame } from "../market/ws-client";
import { createMarket, placeOrder, trader } from "./helpers";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

const order = (market: string, price: string) => ({
  market,
  side: "buy",
  type: "limit",
  price,
  quantity: "0.001",
});

describe("order-entry limits", () => {
  it("count REST, batch and socket placements alike against the account's own limit", async () => {
    const market = await createMarket();
    const ann = await trader({ USDT: "10000" });
    // The day's window, so the test cannot straddle a 10-second boundary (the limiter's unit
    // tests cover those windows).
    const set = await api("PUT", `/api/v1/admin/users/${ann.id}/order-limits`, {
      token: adminToken,
      body: { per_10s: null, per_day: 4 },
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({
      effective: { per_10s: Number(env.ORDER_LIMIT_PER_10S), per_day: 4 },
      own: { per_10s: null, per_day: 4 },
    });
    // The live session sees the new limits at once.
    const mine = await api("GET", "/api/v1/users/me/order-limits", { token: ann.token });
    expect(await mine.json()).toMatchObject({ effective: { per_day: 4 }, own: { per_day: 4 } });

    expect((await placeOrder(ann, order(market, "10000.00"))).status).toBe(201);
    const batch = await api("POST", "/api/v1/orders/batch", {
      token: ann.token,
      body: { orders: [order(market, "10001.00"), order(market, "10002.00")] },
    });
    expect(batch.status).toBe(200);
    expect(((await batch.json()) as { results: { order?: unknown }[] }).results.every((r) => r.order)).toBe(
      true,
    );

    const ws = await WsClient.connect(market);
    ws.send({ op: "auth", id: "a", token: ann.token });
    await ws.next((f) => f.type === "authenticated");
    const placeOverSocket = async (id: number) => {
      ws.send({
        op: "order.place",
        id,
        order: { side: "buy", type: "limit", price: "10003.00", quantity: "0.001" },
      });
      return ws.next((f: Frame) => (f.type === "result" || f.type === "error") && f.id === id);
    };
    expect(await placeOverSocket(1)).toMatchObject({ type: "result" });

    // The fifth placement, whichever way it comes, is refused.
    const refused = await placeOrder(ann, order(market, "10004.00"));
    const body = await expectError(refused, 429, "TOO_MANY_ORDERS");
    expect(body.error.message).toContain("4 orders a day");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const inBatch = await api("POST", "/api/v1/orders/batch", {
      token: ann.token,
      body: { orders: [order(market, "10005.00")] },
    });
    expect(
      ((await inBatch.json()) as { results: { error?: { code: string } }[] }).results[0]!.error?.code,
    ).toBe("TOO_MANY_ORDERS");
    const overSocket = await placeOverSocket(2);
    expect(overSocket).toMatchObject({ type: "error", error: { code: "TOO_MANY_ORDERS" } });
    // Cancels are not placements: the trader can still take risk off.
    const open = (await (
      await api("GET", `/api/v1/orders?market=${market}&status=open`, { token: ann.token })
    ).json()) as {
      orders: { id: string }[];
    };
    expect(open.orders).toHaveLength(4);
    expect((await api("DELETE", `/api/v1/orders/${open.orders[0]!.id}`, { token: ann.token })).status).toBe(
      200,
    );
    ws.ws.close();
  });

  it("are set by admins only, with a clear refusal for bad values", async () => {
    const bob = await trader();
    const path = `/api/v1/admin/users/${bob.id}/order-limits`;
    await expectError(
      await api("PUT", path, { token: bob.token, body: { per_10s: 10, per_day: null } }),
      403,
    );
    await expectError(
      await api("PUT", path, { token: adminToken, body: { per_10s: 0, per_day: null } }),
      422,
      "VALIDATION_FAILED",
    );
    await expectError(
      await api("PUT", `/api/v1/admin/users/${crypto.randomUUID()}/order-limits`, {
        token: adminToken,
        body: { per_10s: 10, per_day: null },
      }),
      404,
    );
    await expectError(
      await api("PUT", `/api/v1/admin/api-keys/${crypto.randomUUID()}/order-limits`, {
        token: adminToken,
        body: { per_10s: 10, per_day: null },
      }),
      404,
    );
  });
});
