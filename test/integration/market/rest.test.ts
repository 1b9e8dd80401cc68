import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { cacheAside } from "../../../src/lib/cache";
import { placed, trader } from "../trading/helpers";

async function get(path: string) {
  const res = await SELF.fetch(`http://x${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("market REST reads", () => {
  it("lists the seeded markets with their rules as decimal strings", async () => {
    const { status, body } = await get("/api/v1/markets");
    expect(status).toBe(200);
    const btc = (body.markets as Record<string, unknown>[]).find((m) => m.symbol === "BTC-USDT");
    expect(btc).toEqual({
      symbol: "BTC-USDT",
      base_asset: "BTC",
      quote_asset: "USDT",
      status: "trading",
      tick_size: "0.010000",
      lot_size: "0.00001000",
      min_quantity: "0.00001000",
      max_quantity: "100.00000000",
      min_notional: "5.000000",
      maker_fee_bps: 10,
      taker_fee_bps: 20,
      price_decimals: 2,
      quantity_decimals: 5,
      percent_price: null,
      max_open_orders: null,
    });
    expect((await get("/api/v1/markets/ETH-USDT")).body).toMatchObject({ market: { symbol: "ETH-USDT" } });
  });

  it("configures a seeded market's object from Postgres on first use and serves its data", async () => {
    const depth = await get("/api/v1/markets/ETH-USDT/depth?limit=5");
    expect(depth).toEqual({
      status: 200,
      body: { symbol: "ETH-USDT", last_update_id: 0, bids: [], asks: [] },
    });
    const seller = await trader({ ETH: "1" });
    const buyer = await trader({ USDT: "2000" });
    await placed(seller, { market: "ETH-USDT", side: "sell", type: "limit", price: "3000", quantity: "1" });
    await placed(buyer, { market: "ETH-USDT", side: "buy", type: "limit", price: "3000", quantity: "0.5" });
    const trades = await get("/api/v1/markets/ETH-USDT/trades?limit=10");
    expect(trades.body).toMatchObject({
      symbol: "ETH-USDT",
      trades: [{ id: "ETH-USDT:1", price: "3000.00", quantity: "0.5000", taker_side: "buy" }],
    });
    const candles = await get("/api/v1/markets/ETH-USDT/candles?interval=1h");
    expect(candles.body).toMatchObject({
      interval: "1h",
      candles: [
        { open: "3000.00", high: "3000.00", low: "3000.00", close: "3000.00", volume: "0.5000", trades: 1 },
      ],
    });
    const ticker = await get("/api/v1/markets/ETH-USDT/ticker");
    expect(ticker.body).toMatchObject({
      symbol: "ETH-USDT",
      last_price: "3000.00",
      volume: "0.5000",
      best_ask: "3000.00",
      best_bid: null,
      price_change_percent: "0.00",
    });
  });

  it("unknown markets are 404 MARKET_NOT_FOUND; bad parameters are 400", async () => {
    expect(await get("/api/v1/markets/DOGE-USDT")).toMatchObject({
      status: 404,
      body: { error: { code: "MARKET_NOT_FOUND" } },
    });
    expect(await get("/api/v1/markets/DOGE-USDT/depth")).toMatchObject({ status: 404 });
    expect(await get("/api/v1/markets/btc/depth")).toMatchObject({ status: 400 });
    expect(await get("/api/v1/markets/BTC-USDT/depth?limit=7")).toMatchObject({ status: 400 });
    expect(await get("/api/v1/markets/BTC-USDT/candles?interval=2m")).toMatchObject({ status: 400 });
    expect(await get("/api/v1/markets/BTC-USDT/trades?limit=0")).toMatchObject({ status: 400 });
    const ws = await SELF.fetch("http://x/api/v1/ws?market=DOGE-USDT", { headers: { Upgrade: "websocket" } });
    expect(ws.status).toBe(404);
  });

  it("every market route is in the OpenAPI document", async () => {
    const doc = (await get("/openapi.json")).body as { paths: Record<string, unknown> };
    for (const path of [
      "/api/v1/markets",
      "/api/v1/markets/{symbol}",
      "/api/v1/markets/{symbol}/depth",
      "/api/v1/markets/{symbol}/trades",
      "/api/v1/markets/{symbol}/candles",
      "/api/v1/markets/{symbol}/ticker",
      "/api/v1/ws",
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });

  it("the cache degrades to the source when Redis is down", async () => {
    const down = new Redis({ url: "http://127.0.0.1:1", token: "x", retry: false, enableTelemetry: false });
    let loads = 0;
    const value = await cacheAside(down, undefined, "k", 1_000, async () => ({ n: ++loads }));
    expect(value).toEqual({ n: 1 });

    const up = new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      retry: false,
      enableTelemetry: false,
    });
    const key = `test:cache:${crypto.randomUUID()}`;
    expect(await cacheAside(up, undefined, key, 5_000, async () => ({ n: ++loads }))).toEqual({ n: 2 });
    expect(await cacheAside(up, undefined, key, 5_000, async () => ({ n: ++loads }))).toEqual({ n: 2 });
  });
});
