import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { apiKeys } from "../../../src/db/schema";
import { randomIp } from "../auth/helpers";
import { createMarket } from "../trading/helpers";
import { binanceClient, binanceError, ok, publicGet, signedFetch, type BinanceClient } from "./helpers";

// Every Binance error code the face answers, each provoked the way a bot would provoke it.
describe("Binance error codes (/api/v3)", () => {
  let symbol: string;
  let trader: BinanceClient;
  const limit = (extra: Record<string, string> = {}) => ({
    symbol,
    side: "SELL",
    type: "LIMIT",
    timeInForce: "GTC",
    quantity: "0.001",
    price: "60000",
    ...extra,
  });

  beforeAll(async () => {
    symbol = (await createMarket()).replace("-", "");
    trader = await binanceClient({ BTC: "0.01", USDT: "1000" });
  });

  it("-1121: an unknown symbol", async () => {
    const body = await binanceError(publicGet("/depth", { symbol: "NOPEUSDT" }), 400, -1121);
    expect(body.msg).toBe("Invalid symbol.");
    await binanceError(signedFetch(trader, "POST", "/order", limit({ symbol: "NOPEUSDT" })), 400, -1121);
  });

  it("-1102: a mandatory parameter missing; -1100: a malformed one; -1101: one sent twice", async () => {
    const missing = await binanceError(publicGet("/depth"), 400, -1102);
    expect(missing.msg).toBe("Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    const { timeInForce: _tif, ...noTimeInForce } = limit();
    await binanceError(signedFetch(trader, "POST", "/order", noTimeInForce), 400, -1102);
    await binanceError(signedFetch(trader, "GET", "/order", { symbol }), 400, -1102);
    await binanceError(publicGet("/depth", { symbol: "btc-usdt" }), 400, -1100);
    await binanceError(publicGet("/trades", { symbol, limit: "5000" }), 400, -1100);
    await binanceError(signedFetch(trader, "POST", "/order", limit({ quantity: "1e-3" })), 400, -1100);
    const twice = await SELF.fetch(`http://x/api/v3/depth?symbol=${symbol}&symbol=${symbol}`, {
      headers: { "cf-connecting-ip": randomIp() },
    });
    await binanceError(twice, 400, -1101);
    await binanceError(publicGet("/klines", { symbol, interval: "1s" }), 400, -1120);
    await binanceError(publicGet("/klines", { symbol, interval: "7m" }), 400, -1120);
  });

  it("-1013: a filter failure (tick, lot, notional, iceberg parts); -1111: more decimals than the asset has", async () => {
    const tick = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ price: "60000.0000001" })),
      400,
      -1111,
    );
    expect(tick.msg).toBe("Parameter 'price' has too much precision.");
    const priceFilter = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ price: "60000.001" })),
      400,
      -1013,
    );
    expect(priceFilter.msg).toBe("Filter failure: PRICE_FILTER");
    const lot = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ quantity: "0.000011" })),
      400,
      -1013,
    );
    expect(lot.msg).toBe("Filter failure: LOT_SIZE");
    const notional = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ quantity: "0.00001", price: "100" })),
      400,
      -1013,
    );
    expect(notional.msg).toBe("Filter failure: NOTIONAL");
    // 0.002 BTC in peaks of one lot (0.00001) is 200 parts; ICEBERG_PARTS allows 100.
    const iceberg = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ quantity: "0.002", icebergQty: "0.00001" })),
      400,
      -1013,
    );
    expect(iceberg.msg).toBe("Filter failure: ICEBERG_PARTS");
    // 100 parts of 0.00002 are accepted.
    const hundredParts = await ok<{ status: string }>(
      signedFetch(trader, "POST", "/order", limit({ quantity: "0.002", icebergQty: "0.00002" })),
    );
    expect(hundredParts.status).toBe("NEW");
    await binanceError(signedFetch(trader, "POST", "/order", limit({ quantity: "0.000000001" })), 400, -1111);
  });

  it("-1021: a timestamp outside recvWindow or ahead of the server; -1131: recvWindow above 60,000", async () => {
    const old = await binanceError(
      signedFetch(trader, "GET", "/account", {}, { timestamp: Date.now() - 6_000 }),
      400,
      -1021,
    );
    expect(old.msg).toBe("Timestamp for this request is outside of the recvWindow.");
    expect(
      await ok(
        signedFetch(trader, "GET", "/account", { recvWindow: "60000" }, { timestamp: Date.now() - 6_000 }),
      ),
    ).toHaveProperty("balances");
    const ahead = await binanceError(
      signedFetch(trader, "GET", "/account", {}, { timestamp: Date.now() + 5_000 }),
      400,
      -1021,
    );
    expect(ahead.msg).toBe("Timestamp for this request was 1000ms ahead of the server's time.");
    await binanceError(signedFetch(trader, "GET", "/account", { recvWindow: "60001" }), 400, -1131);
  });

  it("-1022: a wrong signature, or one used before", async () => {
    await binanceError(signedFetch(trader, "GET", "/account", {}, { secret: "not the secret" }), 400, -1022);
    const qs = `timestamp=${Date.now()}`;
    const { hmacSha256Hex } = await import("../../../src/lib/api-key-crypto");
    const url = `http://x/api/v3/account?${qs}&signature=${await hmacSha256Hex(trader.secret, qs)}`;
    const headers = { "x-mbx-apikey": trader.key, "cf-connecting-ip": trader.ip };
    expect((await SELF.fetch(url, { headers })).status).toBe(200);
    await binanceError(SELF.fetch(url, { headers }), 400, -1022);
  });

  it("-2014: no or a malformed API key; -2015: an unknown key or one without the permission", async () => {
    await binanceError(
      // Its own IP: the shared default one may be banned by another file's weight test.
      SELF.fetch(`http://x/api/v3/account?timestamp=${Date.now()}&signature=00`, {
        headers: { "cf-connecting-ip": randomIp() },
      }),
      401,
      -2014,
    );
    await binanceError(signedFetch({ ...trader, key: "not a key!" }, "GET", "/account"), 401, -2014);
    await binanceError(signedFetch({ ...trader, key: "pk_unknownkey" }, "GET", "/account"), 401, -2015);
    const reader = await binanceClient({}, ["read"]);
    expect(await ok(signedFetch(reader, "GET", "/account"))).toHaveProperty("balances");
    await binanceError(signedFetch(reader, "POST", "/order", limit()), 401, -2015);
  });

  it("-2010: the book or the ledger refuses the order", async () => {
    const funds = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ quantity: "1" })),
      400,
      -2010,
    );
    expect(funds.msg).toBe("Account has insufficient balance for requested action.");
    await ok(signedFetch(trader, "POST", "/order", limit({ newClientOrderId: "dup-1" })));
    const dup = await binanceError(
      signedFetch(trader, "POST", "/order", limit({ newClientOrderId: "dup-1" })),
      400,
      -2010,
    );
    expect(dup.msg).toBe("Duplicate order sent.");
    const taker = await binanceError(
      signedFetch(trader, "POST", "/order", {
        symbol,
        side: "BUY",
        type: "LIMIT_MAKER",
        quantity: "0.001",
        price: "60000",
      }),
      400,
      -2010,
    );
    expect(taker.msg).toBe("Order would immediately match and take.");
    await binanceError(
      signedFetch(trader, "POST", "/order", { symbol, side: "BUY", type: "MARKET", quantity: "0.001" }),
      400,
      -2010,
    );
    await binanceError(
      signedFetch(trader, "POST", "/order", limit({ type: "TAKE_PROFIT_LIMIT", stopPrice: "61000" })),
      400,
      -2010,
    );
  });

  it("-2011: cancelling an unknown or closed order; -2013: querying an unknown order", async () => {
    await binanceError(signedFetch(trader, "DELETE", "/order", { symbol, orderId: "999999999" }), 400, -2011);
    const placed = await ok<{ orderId: number }>(
      signedFetch(trader, "POST", "/order", limit({ price: "61000" })),
    );
    await ok(signedFetch(trader, "DELETE", "/order", { symbol, orderId: String(placed.orderId) }));
    const again = await binanceError(
      signedFetch(trader, "DELETE", "/order", { symbol, orderId: String(placed.orderId) }),
      400,
      -2011,
    );
    expect(again.msg).toBe("Unknown order sent.");
    const other = await binanceClient();
    await binanceError(
      signedFetch(other, "DELETE", "/order", { symbol, orderId: String(placed.orderId) }),
      400,
      -2011,
    );
    const unknown = await binanceError(
      signedFetch(trader, "GET", "/order", { symbol, origClientOrderId: "never-placed" }),
      400,
      -2013,
    );
    expect(unknown.msg).toBe("Order does not exist.");
    await binanceError(
      signedFetch(other, "GET", "/order", { symbol, orderId: String(placed.orderId) }),
      400,
      -2013,
    );
  });

  it("-1015: past the account's order-entry limit (the books' count)", async () => {
    const bot = await binanceClient({ BTC: "0.01" });
    await withDatabase(env, (db) =>
      db.update(apiKeys).set({ orderLimitPer10s: 1 }).where(eq(apiKeys.keyId, bot.key)),
    );
    await ok(signedFetch(bot, "POST", "/order", limit({ price: "62000" })));
    const res = await signedFetch(bot, "POST", "/order", limit({ price: "62000" }));
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    await binanceError(res, 429, -1015);
  });

  it("-1003 and 429: past 6,000 request weight a minute from one IP", async () => {
    const ip = randomIp();
    // depth with limit 5000 weighs 250: the 25th request of a minute goes past 6,000.
    for (let i = 0; i < 24; i++) await ok(publicGet("/depth", { symbol, limit: "5000" }, ip));
    const res = await publicGet("/depth", { symbol, limit: "5000" }, ip);
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(res.headers.get("x-mbx-used-weight-1m")).toBe("6000");
    const body = await binanceError(res, 429, -1003);
    expect(body.msg).toMatch(
      /^Too much request weight used; current limit is 6000 request weight per 1 MINUTE/,
    );
    await ok(publicGet("/ping", {}, randomIp()));
  });

  it("-1000 with 500: an unexpected failure, no internals shown", async () => {
    const broken = await binanceClient();
    await withDatabase(env, (db) =>
      db
        .update(apiKeys)
        .set({ secretCiphertext: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
        .where(eq(apiKeys.keyId, broken.key)),
    );
    const body = await binanceError(signedFetch(broken, "GET", "/account"), 500, -1000);
    expect(body.msg).toBe("An unknown error occurred while processing the request.");
  });
});
