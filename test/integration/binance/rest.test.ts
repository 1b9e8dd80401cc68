import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createMarket, settle } from "../trading/helpers";
import { binanceClient, ok, publicGet, signedFetch, type BinanceClient } from "./helpers";

type Order = Record<string, unknown> & { orderId: number; status: string; fills?: Record<string, string>[] };

// Alice sells 0.01 BTC at 65,000 as maker; Bob buys 325 USDT worth at market (0.005 BTC), all
// through Binance's paths, parameters and signatures, over the same placement path as /api/v1.
describe("Binance-compatible REST (/api/v3)", () => {
  let market: string;
  let symbol: string;
  let alice: BinanceClient;
  let bob: BinanceClient;

  beforeAll(async () => {
    market = await createMarket();
    symbol = market.replace("-", "");
    [alice, bob] = await Promise.all([binanceClient({ BTC: "1" }), binanceClient({ USDT: "100000" })]);
  });

  it("answers ping, time and exchangeInfo with the market's filters", async () => {
    expect(await ok(publicGet("/ping"))).toEqual({});
    const { serverTime } = await ok<{ serverTime: number }>(publicGet("/time"));
    expect(Math.abs(serverTime - Date.now())).toBeLessThan(5_000);
    const info = await ok<{ symbols: Record<string, unknown>[]; rateLimits: unknown[] }>(
      publicGet("/exchangeInfo", { symbol }),
    );
    expect(info.symbols).toHaveLength(1);
    const s = info.symbols[0]! as { filters: Record<string, string>[] } & Record<string, unknown>;
    expect(s).toMatchObject({ symbol, status: "TRADING", baseAsset: "BTC", quoteAsset: "USDT" });
    const filter = (type: string) => s.filters.find((f) => f.filterType === type)!;
    expect(Number(filter("PRICE_FILTER").tickSize)).toBe(0.01);
    expect(Number(filter("LOT_SIZE").stepSize)).toBe(0.00001);
    expect(Number(filter("LOT_SIZE").minQty)).toBe(0.00001);
    expect(Number(filter("NOTIONAL").minNotional)).toBe(5);
    expect(filter("MARKET_LOT_SIZE")).toBeDefined();
    expect(filter("ICEBERG_PARTS")).toEqual({ filterType: "ICEBERG_PARTS", limit: 100 });
    expect(s.orderTypes).toContain("LIMIT_MAKER");
    expect(info.rateLimits).toContainEqual(
      expect.objectContaining({ rateLimitType: "REQUEST_WEIGHT", limit: 6000 }),
    );
    const both = await ok<{ symbols: unknown[] }>(
      publicGet("/exchangeInfo", { symbols: JSON.stringify([symbol, "BTCUSDT"]) }),
    );
    expect(both.symbols).toHaveLength(2);
  });

  it("places, fills, queries and cancels orders with Binance's fields", async () => {
    const sell = await ok<Order>(
      signedFetch(alice, "POST", "/order", {
        symbol,
        side: "SELL",
        type: "LIMIT",
        timeInForce: "GTC",
        quantity: "0.01000000",
        price: "65000.00000000",
        newClientOrderId: "alice-1",
      }),
    );
    expect(sell).toMatchObject({
      symbol,
      clientOrderId: "alice-1",
      status: "NEW",
      type: "LIMIT",
      side: "SELL",
      timeInForce: "GTC",
      fills: [],
      orderListId: -1,
    });
    expect(Number.isSafeInteger(sell.orderId)).toBe(true);

    const depth = await ok<{ lastUpdateId: number; asks: string[][]; bids: string[][] }>(
      publicGet("/depth", { symbol, limit: "5" }),
    );
    expect(depth.asks.map(([p, q]) => [Number(p), Number(q)])).toEqual([[65000, 0.01]]);
    expect(depth.lastUpdateId).toBeGreaterThan(0);

    const buy = await ok<Order>(
      signedFetch(bob, "POST", "/order", { symbol, side: "BUY", type: "MARKET", quoteOrderQty: "325" }),
    );
    expect(buy.status).toBe("FILLED");
    expect(Number(buy.executedQty)).toBe(0.005);
    expect(Number(buy.cummulativeQuoteQty)).toBe(325);
    expect(buy.fills).toHaveLength(1);
    expect(buy.fills![0]).toMatchObject({ commissionAsset: "BTC", tradeId: 1 });
    expect(Number(buy.fills![0]!.commission)).toBe(0.00001); // 0.2 % taker of 0.005 BTC
    expect(typeof buy.clientOrderId).toBe("string");

    const trades = await ok<Record<string, unknown>[]>(publicGet("/trades", { symbol }));
    expect(trades).toEqual([expect.objectContaining({ id: 1, isBuyerMaker: false, isBestMatch: true })]);
    expect(Number(trades[0]!.quoteQty)).toBe(325);

    await settle(market);
    const byId = await ok<Order>(
      signedFetch(alice, "GET", "/order", { symbol, orderId: String(sell.orderId) }),
    );
    expect(byId).toMatchObject({
      orderId: sell.orderId,
      status: "PARTIALLY_FILLED",
      clientOrderId: "alice-1",
    });
    expect(Number(byId.executedQty)).toBe(0.005);
    expect(Number(byId.cummulativeQuoteQty)).toBe(325);
    const byClientId = await ok<Order>(
      signedFetch(alice, "GET", "/order", { symbol, origClientOrderId: "alice-1" }),
    );
    expect(byClientId.orderId).toBe(sell.orderId);

    const open = await ok<Order[]>(signedFetch(alice, "GET", "/openOrders", { symbol }));
    expect(open.map((o) => o.orderId)).toEqual([sell.orderId]);

    const aliceTrades = await ok<Record<string, unknown>[]>(
      signedFetch(alice, "GET", "/myTrades", { symbol }),
    );
    expect(aliceTrades).toEqual([
      expect.objectContaining({
        id: 1,
        orderId: sell.orderId,
        isBuyer: false,
        isMaker: true,
        commissionAsset: "USDT",
      }),
    ]);
    expect(Number(aliceTrades[0]!.commission)).toBe(0.325); // 0.1 % maker of 325 USDT
    const bobTrades = await ok<Record<string, unknown>[]>(
      signedFetch(bob, "GET", "/myTrades", { symbol, orderId: String(buy.orderId) }),
    );
    expect(bobTrades).toEqual([
      expect.objectContaining({ isBuyer: true, isMaker: false, orderId: buy.orderId }),
    ]);

    const account = await ok<{
      balances: { asset: string; free: string; locked: string }[];
      canTrade: boolean;
    }>(signedFetch(bob, "GET", "/account", { omitZeroBalances: "true" }));
    expect(account.canTrade).toBe(true);
    const balance = (asset: string) => account.balances.find((b) => b.asset === asset)!;
    expect(Number(balance("BTC").free)).toBe(0.00499);
    expect(Number(balance("USDT").free)).toBe(100000 - 325);

    const cancelled = await ok<Order>(
      signedFetch(alice, "DELETE", "/order", { symbol, origClientOrderId: "alice-1" }),
    );
    expect(cancelled).toMatchObject({
      orderId: sell.orderId,
      status: "CANCELED",
      origClientOrderId: "alice-1",
    });
    const all = await ok<Order[]>(signedFetch(alice, "GET", "/allOrders", { symbol }));
    expect(all.map((o) => [o.orderId, o.status])).toEqual([[sell.orderId, "CANCELED"]]);
    const aliceAccount = await ok<{ balances: { asset: string; free: string; locked: string }[] }>(
      signedFetch(alice, "GET", "/account"),
    );
    const btc = aliceAccount.balances.find((b) => b.asset === "BTC")!;
    expect([Number(btc.free), Number(btc.locked)]).toEqual([0.995, 0]);
  });

  it("cancels all open orders of a market; test orders are checked but not placed", async () => {
    for (const price of ["70000", "71000"]) {
      await ok(
        signedFetch(alice, "POST", "/order", {
          symbol,
          side: "SELL",
          type: "LIMIT_MAKER",
          quantity: "0.001",
          price,
          newOrderRespType: "ACK",
        }),
      );
    }
    expect(
      await ok(
        signedFetch(alice, "POST", "/order/test", {
          symbol,
          side: "SELL",
          type: "LIMIT",
          timeInForce: "GTC",
          quantity: "0.001",
          price: "72000",
        }),
      ),
    ).toEqual({});
    const rates = await ok<Record<string, Record<string, string>>>(
      signedFetch(alice, "POST", "/order/test", {
        symbol,
        side: "SELL",
        type: "MARKET",
        quantity: "0.001",
        computeCommissionRates: "true",
      }),
    );
    expect(rates.standardCommissionForOrder).toEqual({ maker: "0.00100000", taker: "0.00200000" });
    const cancelled = await ok<Order[]>(signedFetch(alice, "DELETE", "/openOrders", { symbol }));
    expect(cancelled.map((o) => o.status)).toEqual(["CANCELED", "CANCELED"]);
    expect(await ok<Order[]>(signedFetch(alice, "GET", "/openOrders", { symbol }))).toEqual([]);
    const commission = await ok<{ standardCommission: Record<string, string> }>(
      signedFetch(alice, "GET", "/account/commission", { symbol }),
    );
    expect(commission.standardCommission).toMatchObject({ maker: "0.00100000", taker: "0.00200000" });
    const limits = await ok<Record<string, unknown>[]>(signedFetch(alice, "GET", "/rateLimit/order"));
    expect(limits).toContainEqual(
      expect.objectContaining({ rateLimitType: "ORDERS", interval: "SECOND", intervalNum: 10 }),
    );
  });

  it("serves tickers, klines and the average price", async () => {
    const t = await ok<Record<string, string | number>>(publicGet("/ticker/24hr", { symbol }));
    expect(t).toMatchObject({ symbol, count: 1 });
    expect(Number(t.lastPrice)).toBe(65000);
    expect(Number(t.volume)).toBe(0.005);
    const many = await ok<unknown[]>(publicGet("/ticker/24hr", { symbols: JSON.stringify([symbol]) }));
    expect(many).toHaveLength(1);
    const everyPrice = await ok<{ symbol: string; price: string }[]>(publicGet("/ticker/price"));
    expect(everyPrice.find((p) => p.symbol === symbol)?.price).toMatch(/^65000\.0*$/);
    const book = await ok<Record<string, string>>(publicGet("/ticker/bookTicker", { symbol }));
    expect(book).toMatchObject({ symbol });
    const klines = await ok<unknown[][]>(publicGet("/klines", { symbol, interval: "1m" }));
    expect(klines).toHaveLength(1);
    expect(klines[0]!.slice(1, 6).map(Number)).toEqual([65000, 65000, 65000, 65000, 0.005]);
    expect(await ok(publicGet("/uiKlines", { symbol, interval: "1m", limit: "1" }))).toEqual(klines);
    const avg = await ok<{ mins: number; price: string }>(publicGet("/avgPrice", { symbol }));
    expect(avg.mins).toBe(5);
    expect(Number(avg.price)).toBe(65000);
  });

  it("reports the minute's request weight in X-MBX-USED-WEIGHT-1M", async () => {
    const ip = "10.250.0.1";
    const first = await publicGet("/exchangeInfo", {}, ip);
    expect(first.headers.get("x-mbx-used-weight-1m")).toBe("20");
    const second = await publicGet("/depth", { symbol, limit: "500" }, ip);
    expect(second.headers.get("x-mbx-used-weight-1m")).toBe("45");
  });

  it("is in /openapi.json under the Binance-compatible tag", async () => {
    const doc = await ok<{ paths: Record<string, Record<string, { tags: string[] }>> }>(
      SELF.fetch("http://x/openapi.json"),
    );
    for (const path of ["/api/v3/order", "/api/v3/exchangeInfo", "/api/v3/account", "/api/v3/myTrades"]) {
      const ops = Object.values(doc.paths[path] ?? {});
      expect(ops.length, path).toBeGreaterThan(0);
      for (const op of ops) expect(op.tags).toEqual(["Binance-compatible"]);
    }
  });
});
