import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { randomIp } from "../auth/helpers";
import { createMarket, settle } from "../trading/helpers";
import {
  binanceClient,
  binanceError,
  limitOrder,
  ok,
  publicGet,
  signedFetch,
  type BinanceClient,
} from "./helpers";

type Row = Record<string, string | number | boolean>;

// Three trades (65,000, 66,000, 64,000) between two clients, then the rolling-window ticker,
// the historical trades behind an API key, and the order counts a placement reports.
describe("Binance rolling ticker, historicalTrades and order counts (/api/v3)", () => {
  let market: string;
  let symbol: string;
  let maker: BinanceClient;
  let taker: BinanceClient;

  const apiKeyGet = (key: string | undefined, params: Record<string, string>) =>
    SELF.fetch(`http://x/api/v3/historicalTrades?${new URLSearchParams(params).toString()}`, {
      headers: { "cf-connecting-ip": randomIp(), ...(key ? { "x-mbx-apikey": key } : {}) },
    });

  beforeAll(async () => {
    market = await createMarket();
    symbol = market.replace("-", "");
    [maker, taker] = await Promise.all([binanceClient({ BTC: "1" }), binanceClient({ USDT: "100000" })]);
    for (const price of ["65000", "66000", "64000"]) {
      await ok(signedFetch(maker, "POST", "/order", limitOrder(symbol, "SELL", price)));
      await ok(signedFetch(taker, "POST", "/order", limitOrder(symbol, "BUY", price)));
    }
    await settle(market);
  });

  it("GET /ticker: the rolling window's statistics, FULL and MINI, for symbol or symbols", async () => {
    const full = await ok<Row>(publicGet("/ticker", { symbol, windowSize: "15m" }));
    expect(full).toMatchObject({ symbol, count: 3, firstId: -1, lastId: -1 });
    expect([full.openPrice, full.highPrice, full.lowPrice, full.lastPrice].map(Number)).toEqual([
      65000, 66000, 64000, 64000,
    ]);
    expect(Number(full.volume)).toBe(0.03);
    expect(Number(full.priceChange)).toBe(-1000);
    expect(full.priceChangePercent).toBe("-1.538");
    expect(Number(full.closeTime) - Number(full.openTime)).toBeGreaterThanOrEqual(15 * 60_000);
    expect(Number(full.openTime) % 60_000).toBe(0);

    const mini = await ok<Row[]>(
      publicGet("/ticker", { symbols: JSON.stringify([symbol]), windowSize: "7d", type: "MINI" }),
    );
    expect(mini).toHaveLength(1);
    expect(mini[0]).toMatchObject({ symbol, count: 3 });
    expect(mini[0]).not.toHaveProperty("priceChange");
    expect(Number(mini[0]!.closeTime) - Number(mini[0]!.openTime)).toBeGreaterThanOrEqual(7 * 86_400_000);
    const day = await ok<Row>(publicGet("/ticker", { symbol }));
    expect(day.count).toBe(3);

    await binanceError(publicGet("/ticker"), 400, -1102);
    for (const windowSize of ["60m", "24h", "8d", "0m", "1w"]) {
      await binanceError(publicGet("/ticker", { symbol, windowSize }), 400, -1100);
    }
    await binanceError(publicGet("/ticker", { symbol, type: "HUGE" }), 400, -1139);
    await binanceError(publicGet("/ticker", { symbol: "NOPEUSDT" }), 400, -1121);
  });

  it("GET /klines: the intervals the market does not keep are merged from one it keeps", async () => {
    const DAY = 86_400_000;
    const aligned: Record<string, (t: number) => boolean> = {
      "3m": (t) => t % 180_000 === 0,
      "30m": (t) => t % 1_800_000 === 0,
      "12h": (t) => t % 43_200_000 === 0,
      "1w": (t) => (t - 4 * DAY) % (7 * DAY) === 0 && new Date(t).getUTCDay() === 1,
      "1M": (t) => new Date(t).getUTCDate() === 1 && t % DAY === 0,
    };
    for (const [interval, isStart] of Object.entries(aligned)) {
      const rows = await ok<(string | number)[][]>(publicGet("/klines", { symbol, interval }));
      // The three trades were placed within moments: one candle, unless a boundary fell between.
      expect(rows.length, interval).toBeGreaterThanOrEqual(1);
      expect(
        rows.reduce((n, r) => n + Number(r[8]), 0),
        interval,
      ).toBe(3);
      expect(
        rows.reduce((v, r) => v + Number(r[5]), 0),
        interval,
      ).toBeCloseTo(0.03, 8);
      for (const r of rows) expect(isStart(Number(r[0])), `${interval} ${r[0]}`).toBe(true);
      if (rows.length === 1) {
        expect(rows[0]!.slice(1, 5).map(Number), interval).toEqual([65000, 66000, 64000, 64000]);
      }
    }
  });

  it("GET /historicalTrades: every trade from fromId on, behind an API key", async () => {
    const all = await ok<Row[]>(apiKeyGet(maker.key, { symbol }));
    expect(all.map((t) => t.id)).toEqual([1, 2, 3]);
    expect(all.map((t) => Number(t.price))).toEqual([65000, 66000, 64000]);
    expect(all[0]).toMatchObject({ isBuyerMaker: false, isBestMatch: true });
    expect(Number(all[0]!.qty)).toBe(0.01);
    expect(Number(all[0]!.quoteQty)).toBe(650);
    const fromTwo = await ok<Row[]>(apiKeyGet(maker.key, { symbol, fromId: "2", limit: "1" }));
    expect(fromTwo.map((t) => t.id)).toEqual([2]);
    const latest = await ok<Row[]>(apiKeyGet(taker.key, { symbol, limit: "2" }));
    expect(latest.map((t) => t.id)).toEqual([2, 3]);
    expect(await ok<Row[]>(apiKeyGet(maker.key, { symbol, fromId: "4" }))).toEqual([]);

    await binanceError(apiKeyGet(undefined, { symbol }), 401, -2014);
    await binanceError(apiKeyGet("not a key!", { symbol }), 401, -2014);
    await binanceError(apiKeyGet("pk_unknown", { symbol }), 401, -2015);
    await binanceError(apiKeyGet(maker.key, { symbol: "NOPEUSDT" }), 400, -1121);
    await binanceError(apiKeyGet(maker.key, { symbol, limit: "1001" }), 400, -1100);
  });

  it("placements report X-MBX-ORDER-COUNT-10S / -1D; GET /rateLimit/order their counts", async () => {
    const bot = await binanceClient({ BTC: "1" });
    const sell = (price: string) => signedFetch(bot, "POST", "/order", limitOrder(symbol, "SELL", price));
    const first = await sell("90000");
    expect(first.status).toBe(200);
    expect([first.headers.get("x-mbx-order-count-10s"), first.headers.get("x-mbx-order-count-1d")]).toEqual([
      "1",
      "1",
    ]);
    const second = await sell("91000");
    expect(second.headers.get("x-mbx-order-count-1d")).toBe("2");
    const limits = await ok<{ interval: string; limit: number; count: number }[]>(
      signedFetch(bot, "GET", "/rateLimit/order"),
    );
    expect(limits.find((l) => l.interval === "DAY")).toMatchObject({ limit: expect.any(Number), count: 2 });
    // A read is not a placement: no order counts.
    const read = await signedFetch(bot, "GET", "/openOrders", { symbol });
    expect(read.headers.get("x-mbx-order-count-1d")).toBeNull();
  });
});
