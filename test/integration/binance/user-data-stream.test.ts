import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { users } from "../../../src/db/schema";
import { signWebhook } from "../../../src/services/webhook-signature";
import { api } from "../auth/helpers";
import { createMarket } from "../trading/helpers";
import { binanceClient, binanceError, ok, sellOco, signedFetch, type BinanceClient } from "./helpers";
import { event, listenKeyOf, openStream, userStream } from "./user-data-helpers";

const randomHex = (bytes = 32) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Credits the user through the real deposit webhook (a confirmed BTC output to their address). */
async function deposit(c: BinanceClient, amount: string): Promise<void> {
  const address = await api("GET", "/api/v1/wallets/BTC/address", { token: c.token });
  const notice = JSON.stringify({
    asset: "BTC",
    tx_hash: randomHex(),
    vout: 0,
    address: ((await address.json()) as { address: string }).address,
    amount,
    confirmations: 2,
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await SELF.fetch("http://x/api/v1/webhooks/deposits", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-timestamp": timestamp,
      "x-webhook-signature": signWebhook(env.DEPOSIT_WEBHOOK_SECRET, timestamp, notice),
    },
    body: notice,
  });
  expect(res.status).toBe(200);
}

describe("Binance user data stream: listen keys", () => {
  it("starts one 60-alphanumeric key per account, keeps it alive, closes it; refuses other keys", async () => {
    const alice = await binanceClient();
    const bob = await binanceClient();
    const key = await listenKeyOf(alice);
    expect(key).toMatch(/^[A-Za-z0-9]{60}$/);
    // Binance: an account's valid key is returned (and extended) again.
    expect(await listenKeyOf(alice)).toBe(key);
    expect(await ok(userStream("PUT", alice.key, { listenKey: key }, alice.ip))).toEqual({});
    // Another account's key, a made-up key, no key, a bad key.
    await binanceError(userStream("PUT", bob.key, { listenKey: key }, bob.ip), 400, -1125);
    await binanceError(userStream("PUT", alice.key, { listenKey: "A".repeat(60) }, alice.ip), 400, -1125);
    await binanceError(userStream("PUT", alice.key, {}, alice.ip), 400, -1102);
    await binanceError(userStream("POST", null), 401, -2014);
    await binanceError(userStream("POST", "no-such-key"), 401, -2015);

    const stream = await openStream(key);
    expect(await ok(userStream("DELETE", alice.key, { listenKey: key }, alice.ip))).toEqual({});
    await stream.until(() => stream.closed !== null);
    await binanceError(userStream("PUT", alice.key, { listenKey: key }, alice.ip), 400, -1125);
    const refused = await SELF.fetch(`http://x/ws/${key}`, { headers: { Upgrade: "websocket" } });
    expect(refused.status).toBe(404);
    // A new stream gets a new key.
    expect(await listenKeyOf(alice)).not.toBe(key);
  });
});

describe("Binance user data stream: /ws/<listenKey> events", () => {
  it("carries executionReport and outboundAccountPosition for orders in two markets", async () => {
    const [m1, m2] = await Promise.all([createMarket(), createMarket()]);
    const [s1, s2] = [m1.replace("-", ""), m2.replace("-", "")];
    const alice = await binanceClient({ BTC: "1" });
    const bob = await binanceClient({ USDT: "100000" });
    const [aliceStream, bobStream] = await Promise.all([
      listenKeyOf(alice).then(openStream),
      listenKeyOf(bob).then(openStream),
    ]);

    // Alice rests 0.01 BTC at 65,000 in the first market; Bob buys 260 USDT of it (0.004 BTC).
    const ask = await ok<{ orderId: number }>(
      signedFetch(alice, "POST", "/order", {
        symbol: s1,
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.01",
        price: "65000",
        newClientOrderId: "alice-ask",
      }),
    );
    const buy = await ok<{ orderId: number }>(
      signedFetch(bob, "POST", "/order", { symbol: s1, side: "BUY", type: "MARKET", quoteOrderQty: "260" }),
    );
    // And a bid in the second market, cancelled.
    const bid = await ok<{ orderId: number }>(
      signedFetch(bob, "POST", "/order", {
        symbol: s2,
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.001",
        price: "50000",
      }),
    );
    await ok(signedFetch(bob, "DELETE", "/order", { symbol: s2, orderId: String(bid.orderId) }));

    const placed = await aliceStream.next(
      event("executionReport", (f) => f.x === "NEW"),
      0,
      10_000,
    );
    expect(placed).toMatchObject({
      s: s1,
      c: "alice-ask",
      S: "SELL",
      o: "LIMIT",
      f: "GTC",
      q: "0.01000000",
      p: "65000.000000",
      X: "NEW",
      i: ask.orderId,
      z: "0.00000000",
      w: true,
    });
    const makerFill = await aliceStream.next(
      event("executionReport", (f) => f.x === "TRADE"),
      0,
      10_000,
    );
    expect(makerFill).toMatchObject({
      i: ask.orderId,
      X: "PARTIALLY_FILLED",
      l: "0.00400000",
      L: "65000.000000",
      z: "0.00400000",
      Z: "260.000000",
      Y: "260.000000",
      n: "0.260000",
      N: "USDT",
      m: true,
    });
    expect(makerFill.t).toEqual(expect.any(Number));
    const takerFill = await bobStream.next(
      event("executionReport", (f) => f.x === "TRADE" && f.i === buy.orderId),
      0,
      10_000,
    );
    expect(takerFill).toMatchObject({
      s: s1,
      o: "MARKET",
      X: "FILLED",
      z: "0.00400000",
      n: "0.00000800",
      N: "BTC",
      m: false,
    });
    expect(takerFill.t).toBe(makerFill.t);
    const cancelled = await bobStream.next(
      event("executionReport", (f) => f.x === "CANCELED" && f.i === bid.orderId),
      0,
      10_000,
    );
    expect(cancelled).toMatchObject({ s: s2, X: "CANCELED", p: "50000.000000" });

    // The balances follow: Alice's BTC lock shrank by the fill, her USDT grew by it net of fees.
    await aliceStream.until(
      () =>
        aliceStream.frames.some(
          (f) =>
            f.e === "outboundAccountPosition" &&
            JSON.stringify(f.B).includes('{"a":"BTC","f":"0.99000000","l":"0.00600000"}') &&
            JSON.stringify(f.B).includes('{"a":"USDT","f":"259.740000","l":"0.000000"}'),
        ),
      10_000,
    );
    await bobStream.until(
      () =>
        bobStream.frames.some(
          (f) =>
            f.e === "outboundAccountPosition" &&
            JSON.stringify(f.B).includes('{"a":"USDT","f":"99740.000000","l":"0.000000"}'),
        ),
      10_000,
    );
    aliceStream.close();
    bobStream.close();
  });

  it("carries listStatus for an OCO, placed and cancelled, and its legs' reports name the list", async () => {
    const symbol = (await createMarket()).replace("-", "");
    const alice = await binanceClient({ BTC: "1" });
    const stream = await openStream(await listenKeyOf(alice));
    const list = await ok<{ orderListId: number; orders: { orderId: number }[] }>(
      signedFetch(alice, "POST", "/orderList/oco", sellOco(symbol, { listClientOrderId: "alice-list" })),
    );
    const started = await stream.next(event("listStatus"), 0, 10_000);
    expect(started).toMatchObject({
      s: symbol,
      g: list.orderListId,
      c: "OCO",
      l: "EXEC_STARTED",
      L: "EXECUTING",
    });
    expect(started.C).toBe("alice-list");
    expect((started.O as { i: number }[]).map((o) => o.i).sort()).toEqual(
      list.orders.map((o) => o.orderId).sort(),
    );

    await ok(signedFetch(alice, "DELETE", "/orderList", { symbol, orderListId: String(list.orderListId) }));
    const done = await stream.next(
      event("listStatus", (f) => f.l === "ALL_DONE"),
      0,
      10_000,
    );
    expect(done).toMatchObject({ g: list.orderListId, L: "ALL_DONE" });
    const legs = stream.frames.filter((f) => f.e === "executionReport");
    expect(legs.length).toBeGreaterThanOrEqual(4);
    expect(legs.every((f) => f.g === list.orderListId)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stream.frames.filter((f) => f.e === "listStatus")).toHaveLength(2);
    stream.close();
  });

  it("carries balanceUpdate for a deposit and a withdrawal", async () => {
    const carol = await binanceClient();
    await withDatabase(env, (db) =>
      db.update(users).set({ kycStatus: "verified" }).where(eq(users.id, carol.userId)),
    );
    const stream = await openStream(await listenKeyOf(carol));

    await deposit(carol, "0.5");
    const credited = await stream.next(event("balanceUpdate"), 0, 10_000);
    expect(credited).toMatchObject({ a: "BTC", d: "0.50000000" });
    await stream.next(
      event(
        "outboundAccountPosition",
        (f) => JSON.stringify(f.B) === '[{"a":"BTC","f":"0.50000000","l":"0.00000000"}]',
      ),
      0,
      10_000,
    );

    const from = stream.frames.length;
    const res = await api("POST", "/api/v1/wallets/withdrawals", {
      token: carol.token,
      body: { asset: "BTC", address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", amount: "0.2" },
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    expect(await stream.next(event("balanceUpdate"), from, 10_000)).toMatchObject({
      a: "BTC",
      d: "-0.20000000",
    });
    await stream.next(
      event(
        "outboundAccountPosition",
        (f) => JSON.stringify(f.B) === '[{"a":"BTC","f":"0.30000000","l":"0.20000000"}]',
      ),
      from,
      10_000,
    );
    stream.close();
  });
});
