import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, login } from "../auth/helpers";
import {
  balanceOf,
  bid,
  createMarket,
  placed,
  placeOrder,
  settle,
  trader,
  type Trader,
} from "../trading/helpers";
import { binanceClient, binanceError, limitOrder, ok, publicGet, signedFetch } from "../binance/helpers";

// A market may cap each account's live orders (Binance's MAX_NUM_ORDERS); off by default.

// The admin signs in once for the file: each sign-in is an Argon2id hash.
let admin: Promise<string> | undefined;

async function setCap(symbol: string, cap: unknown) {
  const token = await (admin ??= login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD).then(
    (pair) => pair.access_token,
  ));
  return api("PATCH", `/api/v1/admin/markets/${symbol}`, { body: { max_open_orders: cap }, token });
}

async function refusedAtCap(t: Trader, body: Record<string, unknown>) {
  await expectError(await placeOrder(t, body), 422, "MAX_OPEN_ORDERS");
}

describe("the per-account cap on live orders", () => {
  it("counts resting orders and pending stops, frees a slot on cancel, and is per account", async () => {
    const symbol = await createMarket();
    const set = await setCap(symbol, 3);
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ market: { max_open_orders: 3 } });
    for (const bad of [0, 100_001, 2.5, "3"]) expect((await setCap(symbol, bad)).status).toBe(422);

    const alice = await trader({ USDT: "10000" });
    const bob = await trader({ USDT: "10000" });
    const first = await placed(alice, bid(symbol, "60000.00"));
    await placed(alice, bid(symbol, "60001.00"));
    // A stop waiting for its trigger is a live order too.
    await placed(alice, {
      market: symbol,
      side: "buy",
      type: "stop_limit",
      stop_price: "70000.00",
      price: "70100.00",
      quantity: "0.001",
    });
    await settle(symbol);
    const before = await balanceOf(alice.id, "USDT");
    await refusedAtCap(alice, bid(symbol, "60002.00"));
    expect(await balanceOf(alice.id, "USDT")).toEqual(before); // the refusal locked nothing
    await placed(bob, bid(symbol, "60002.00")); // another account has its own count

    const cancelled = await api("DELETE", `/api/v1/orders/${first.order.id}`, { token: alice.token });
    expect(cancelled.status).toBe(200);
    await placed(alice, bid(symbol, "60003.00"));
    // An OCO takes two slots: with two of three live, it does not fit.
    const seller = await trader({ BTC: "1" });
    await placed(seller, {
      market: symbol,
      side: "sell",
      type: "limit",
      price: "90000.00",
      quantity: "0.001",
    });
    await placed(seller, {
      market: symbol,
      side: "sell",
      type: "limit",
      price: "90001.00",
      quantity: "0.001",
    });
    await refusedAtCap(seller, {
      market: symbol,
      type: "oco",
      side: "sell",
      price: "95000.00",
      stop_price: "50000.00",
      quantity: "0.001",
    });

    expect((await setCap(symbol, null)).status).toBe(200);
    await placed(alice, bid(symbol, "60004.00"));
  });

  it("is MAX_NUM_ORDERS on the Binance face: in exchangeInfo and as -1013", async () => {
    const symbol = await createMarket();
    const binanceSymbol = symbol.replace("-", "");
    const info = async () =>
      (
        await ok<{ symbols: { filters: Record<string, unknown>[] }[] }>(
          publicGet("/exchangeInfo", { symbol: binanceSymbol }),
        )
      ).symbols[0]!.filters;
    expect((await info()).map((f) => f.filterType)).not.toContain("MAX_NUM_ORDERS");
    expect((await setCap(symbol, 1)).status).toBe(200);
    expect(await info()).toContainEqual({ filterType: "MAX_NUM_ORDERS", maxNumOrders: 1 });

    const bot = await binanceClient({ USDT: "1000" });
    await ok(signedFetch(bot, "POST", "/order", limitOrder(binanceSymbol, "BUY", "60000.00", "0.001")));
    const refused = await binanceError(
      signedFetch(bot, "POST", "/order", limitOrder(binanceSymbol, "BUY", "60001.00", "0.001")),
      400,
      -1013,
    );
    expect(refused.msg).toBe("Filter failure: MAX_NUM_ORDERS");
  });
});
