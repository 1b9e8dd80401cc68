import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { hmacSha256Hex } from "../../../src/lib/api-key-crypto";
import { WsClient, type Frame } from "../market/ws-client";
import { createMarket } from "../trading/helpers";
import { binanceClient, type BinanceClient } from "./helpers";

type Params = Record<string, string | number | boolean>;

/** A `/ws-api/v3` client: requests by id, replies matched by id. */
class WsApi {
  private nextId = 1;
  private constructor(readonly ws: WsClient) {}

  static async connect(ip: string): Promise<WsApi> {
    const res = await SELF.fetch("http://x/ws-api/v3", {
      headers: { Upgrade: "websocket", "cf-connecting-ip": ip },
    });
    if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status}`);
    res.webSocket.accept();
    return new WsApi(WsClient.wrap(res.webSocket));
  }

  async request(method: string, params?: Params): Promise<Frame> {
    const id = `r${this.nextId++}`;
    this.ws.send({ id, method, ...(params ? { params } : {}) });
    return this.ws.next((f) => f.id === id, 0, 10_000);
  }

  /** A SIGNED request as Binance documents it: sorted parameters, HMAC-SHA256 hex. */
  async signed(
    c: BinanceClient,
    method: string,
    params: Params,
    o: { secret?: string; timestamp?: number } = {},
  ) {
    const all: Params = { ...params, apiKey: c.key, timestamp: o.timestamp ?? Date.now() };
    const payload = Object.keys(all)
      .sort()
      .map((k) => `${k}=${String(all[k])}`)
      .join("&");
    return this.request(method, { ...all, signature: await hmacSha256Hex(o.secret ?? c.secret, payload) });
  }

  close(): void {
    this.ws.close();
  }
}

describe("Binance WebSocket API (/ws-api/v3)", () => {
  let symbol: string;
  let alice: BinanceClient;
  let bob: BinanceClient;

  beforeAll(async () => {
    symbol = (await createMarket()).replace("-", "");
    [alice, bob] = await Promise.all([binanceClient({ BTC: "1" }), binanceClient({ USDT: "100000" })]);
  });

  it("answers public methods in Binance's envelope with the request weight", async () => {
    const api = await WsApi.connect(alice.ip);
    expect(await api.request("ping")).toMatchObject({ status: 200, result: {} });
    const time = await api.request("time");
    expect(time).toMatchObject({ status: 200, result: { serverTime: expect.any(Number) } });
    expect(time.rateLimits).toEqual([
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: 6000,
        count: expect.any(Number),
      },
    ]);
    const info = await api.request("exchangeInfo", { symbol });
    expect((info.result as { symbols: { symbol: string }[] }).symbols.map((s) => s.symbol)).toEqual([symbol]);
    expect(await api.request("depth", { symbol, limit: 5 })).toMatchObject({
      status: 200,
      result: { bids: [], asks: [] },
    });
    expect(await api.request("depth", { symbol: "NOPE" })).toMatchObject({
      status: 400,
      error: { code: -1121, msg: "Invalid symbol." },
    });
    expect(await api.request("no.such.method")).toMatchObject({ status: 400, error: { code: -1020 } });
    api.ws.send("not json");
    expect(await api.ws.next((f) => f.id === null)).toMatchObject({ status: 400, error: { code: -1100 } });
    api.close();
  });

  it("refuses bad signatures, stale timestamps, long receive windows and missing keys with Binance's codes", async () => {
    const api = await WsApi.connect(alice.ip);
    const order = {
      symbol,
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "65000",
    };
    const error = (f: Promise<Frame>) => f;
    expect(await error(api.signed(alice, "order.place", order, { secret: "wrong" }))).toMatchObject({
      status: 400,
      error: { code: -1022 },
    });
    expect(
      await error(api.signed(alice, "order.place", order, { timestamp: Date.now() - 60_000 })),
    ).toMatchObject({
      status: 400,
      error: { code: -1021 },
    });
    expect(
      await error(api.signed(alice, "order.place", order, { timestamp: Date.now() + 5_000 })),
    ).toMatchObject({
      status: 400,
      error: { code: -1021 },
    });
    expect(await error(api.signed(alice, "order.place", { ...order, recvWindow: 70_000 }))).toMatchObject({
      status: 400,
      error: { code: -1131 },
    });
    expect(await error(api.request("order.place", { ...order, timestamp: Date.now() }))).toMatchObject({
      status: 401,
      error: { code: -2014 },
    });
    expect(
      await error(api.request("order.place", { ...order, apiKey: alice.key, timestamp: Date.now() })),
    ).toMatchObject({
      status: 400,
      error: { code: -1102 },
    });
    expect(
      await error(api.signed(alice, "userDataStream.subscribe.signature", {}, { secret: "wrong" })),
    ).toMatchObject({ status: 400, error: { code: -1022 } });
    expect(
      await error(
        api.request("session.logon", {
          apiKey: alice.key,
          timestamp: Date.now() - 60_000,
          signature: "0".repeat(64),
        }),
      ),
    ).toMatchObject({
      status: 400,
      error: { code: -1021 },
    });
    api.close();
  });

  it("places, queries and cancels orders (signed, and after session.logon), streaming the user data", async () => {
    const a = await WsApi.connect(alice.ip);
    const b = await WsApi.connect(bob.ip);
    const sub = await a.signed(alice, "userDataStream.subscribe.signature", {});
    expect(sub).toMatchObject({ status: 200, result: { subscriptionId: 0 } });

    const placed = await a.signed(alice, "order.place", {
      symbol,
      side: "SELL",
      type: "LIMIT",
      timeInForce: "GTC",
      quantity: "0.01",
      price: "65000",
      newClientOrderId: "ws-ask",
    });
    expect(placed).toMatchObject({
      status: 200,
      result: { symbol, clientOrderId: "ws-ask", status: "NEW", origQty: "0.01000000" },
    });
    const orderId = (placed.result as { orderId: number }).orderId;

    // Bob logs on once; his requests then carry no apiKey or signature, only the timestamp.
    const logon = await b.signed(bob, "session.logon", {});
    expect(logon).toMatchObject({
      status: 200,
      result: { apiKey: bob.key, authorizedSince: expect.any(Number) },
    });
    const buy = await b.request("order.place", {
      symbol,
      side: "BUY",
      type: "MARKET",
      quoteOrderQty: "260",
      timestamp: Date.now(),
    });
    expect(buy).toMatchObject({ status: 200, result: { status: "FILLED", executedQty: "0.00400000" } });
    expect(await b.request("account.status", { timestamp: Date.now() })).toMatchObject({ status: 200 });
    expect(await b.request("session.logout")).toMatchObject({ status: 200, result: { apiKey: null } });
    expect(await b.request("account.status", { timestamp: Date.now() + 1 })).toMatchObject({
      status: 401,
      error: { code: -2014 },
    });

    const event = (x: string) => (f: Frame) =>
      f.subscriptionId === 0 &&
      (f.event as Frame | undefined)?.e === "executionReport" &&
      (f.event as Frame).x === x;
    expect((await a.ws.next(event("NEW"), 0, 10_000)).event).toMatchObject({
      i: orderId,
      c: "ws-ask",
      X: "NEW",
    });
    expect((await a.ws.next(event("TRADE"), 0, 10_000)).event).toMatchObject({
      i: orderId,
      X: "PARTIALLY_FILLED",
      l: "0.00400000",
    });
    await a.ws.next((f) => (f.event as Frame | undefined)?.e === "outboundAccountPosition", 0, 10_000);

    const status = await a.signed(alice, "order.status", { symbol, orderId });
    expect(status).toMatchObject({ status: 200, result: { orderId, clientOrderId: "ws-ask" } });
    const open = await a.signed(alice, "openOrders.status", { symbol });
    expect((open.result as { orderId: number }[]).map((o) => o.orderId)).toEqual([orderId]);
    const cancelled = await a.signed(alice, "order.cancel", { symbol, orderId });
    expect(cancelled).toMatchObject({ status: 200, result: { orderId, status: "CANCELED" } });
    expect((await a.ws.next(event("CANCELED"), 0, 10_000)).event).toMatchObject({
      i: orderId,
      X: "CANCELED",
    });
    expect(await a.signed(alice, "order.cancel", { symbol, orderId })).toMatchObject({
      status: 400,
      error: { code: -2011 },
    });
    const all = await a.signed(alice, "allOrders", { symbol });
    expect((all.result as { orderId: number }[]).map((o) => o.orderId)).toEqual([orderId]);
    const trades = await a.signed(alice, "myTrades", { symbol });
    expect(trades.result).toHaveLength(1);
    expect(
      await a.signed(alice, "order.test", {
        symbol,
        side: "BUY",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.001",
        price: "60000",
      }),
    ).toMatchObject({ status: 200, result: {} });

    expect(await a.request("userDataStream.unsubscribe")).toMatchObject({ status: 200, result: {} });
    a.close();
    b.close();
  });
});
