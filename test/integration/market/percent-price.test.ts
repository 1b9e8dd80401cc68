import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, expectError, login } from "../auth/helpers";
import { balanceOf, createMarket, placed, placeOrder, settle, trader, type Trader } from "../trading/helpers";
import { binanceClient, binanceError, limitOrder, ok, publicGet, signedFetch } from "../binance/helpers";

// Issue 12, Deliver 2: a market may set Binance's PERCENT_PRICE_BY_SIDE against the last price.
// Each test has a market of its own (the seeded BTC-USDT is shared by every test file).

const BAND = {
  bid_multiplier_up: "1.1",
  bid_multiplier_down: "0.9",
  ask_multiplier_up: "1.2",
  ask_multiplier_down: "0.8",
};

// The admin signs in once for the file: each sign-in is an Argon2id hash.
let admin: Promise<string> | undefined;
const adminToken = () =>
  (admin ??= login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD).then((pair) => pair.access_token));

async function setBand(symbol: string, band: typeof BAND | null) {
  return api("PATCH", `/api/v1/admin/markets/${symbol}`, {
    body: { percent_price: band },
    token: await adminToken(),
  });
}

const limit = (market: string, side: "buy" | "sell", price: string, extra: Record<string, unknown> = {}) => ({
  market,
  side,
  type: "limit",
  price,
  quantity: "0.001",
  ...extra,
});

async function refusedOutsideBand(t: Trader, body: Record<string, unknown>): Promise<string> {
  return (await expectError(await placeOrder(t, body), 422, "PERCENT_PRICE")).error.message;
}

/** A fresh market with the band set and a trade at 64,000 (the last price). */
async function bandedMarket() {
  const symbol = await createMarket();
  const set = await setBand(symbol, BAND);
  expect(set.status).toBe(200);
  const seller = await trader({ BTC: "1" });
  const buyer = await trader({ USDT: "100000" });
  await placed(seller, limit(symbol, "sell", "64000.00"));
  const taken = await placed(buyer, limit(symbol, "buy", "64000.00"));
  expect(taken.fills).toHaveLength(1);
  return { symbol, seller, buyer };
}

describe("the percent price filter", () => {
  it("is off by default, set and cleared by an admin, and shown with the market", async () => {
    const symbol = await createMarket();
    const before = (await (await api("GET", `/api/v1/markets/${symbol}`)).json()) as {
      market: { percent_price: unknown };
    };
    expect(before.market.percent_price).toBeNull();

    const set = await setBand(symbol, BAND);
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ market: { percent_price: BAND } });
    const shown = (await (await api("GET", `/api/v1/markets/${symbol}`)).json()) as {
      market: { percent_price: unknown };
    };
    expect(shown.market.percent_price).toEqual(BAND);

    // A band that would refuse the last price itself, or a malformed multiplier, is refused.
    const inverted = await setBand(symbol, { ...BAND, bid_multiplier_down: "1.05" });
    expect(inverted.status).toBe(422);
    expect(await inverted.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
    for (const bad of [
      { ask_multiplier_up: "1.23456" },
      { ask_multiplier_up: "101" },
      { bid_multiplier_up: 2 },
    ]) {
      const res = await setBand(symbol, { ...BAND, ...bad } as typeof BAND);
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ error: { code: "VALIDATION_FAILED" } });
    }

    const cleared = await setBand(symbol, null);
    expect(cleared.status).toBe(200);
    expect(await cleared.json()).toMatchObject({ market: { percent_price: null } });
  });

  it("lets every price through before the market's first trade", async () => {
    const symbol = await createMarket();
    expect((await setBand(symbol, BAND)).status).toBe(200);
    const buyer = await trader({ USDT: "1000" });
    const seller = await trader({ BTC: "1" });
    await placed(buyer, limit(symbol, "buy", "100.00", { quantity: "0.1" }));
    await placed(seller, limit(symbol, "sell", "900000.00"));
  });

  it("refuses limit prices outside each side's band around the last price, bounds included, locking nothing", async () => {
    const { symbol, seller, buyer } = await bandedMarket();
    // Bids within [0.9, 1.1] × 64,000 = [57,600, 70,400]; asks within [0.8, 1.2] = [51,200, 76,800].
    await placed(buyer, limit(symbol, "buy", "57600.00"));
    expect(await refusedOutsideBand(buyer, limit(symbol, "buy", "57599.99"))).toMatch(/at least 0\.9×/);
    await placed(seller, limit(symbol, "sell", "76800.00"));
    expect(await refusedOutsideBand(seller, limit(symbol, "sell", "76800.01"))).toMatch(/at most 1\.2×/);
    await placed(buyer, limit(symbol, "buy", "70400.00"));
    await refusedOutsideBand(buyer, limit(symbol, "buy", "70400.01"));
    await refusedOutsideBand(seller, limit(symbol, "sell", "51199.99"));

    // Only the two resting bids hold the buyer's USDT once the trade is settled: the refusals locked nothing.
    await settle(symbol);
    const held = await balanceOf(buyer.id, "USDT");
    expect(held.locked).toBe(57_600_000n + 70_400_000n);
  });

  it("checks an amendment's new price and both OCO limit prices", async () => {
    const { symbol, buyer, seller } = await bandedMarket();
    const resting = await placed(buyer, limit(symbol, "buy", "60000.00"));
    const amended = await api("PATCH", `/api/v1/orders/${resting.order.id}`, {
      token: buyer.token,
      body: { price: "50000.00" },
    });
    expect(amended.status).toBe(422);
    expect(await amended.json()).toMatchObject({ error: { code: "PERCENT_PRICE" } });

    await refusedOutsideBand(seller, {
      market: symbol,
      type: "oco",
      side: "sell",
      price: "80000.00",
      stop_price: "60000.00",
      quantity: "0.001",
    });
    await refusedOutsideBand(seller, {
      market: symbol,
      type: "oco",
      side: "sell",
      price: "70000.00",
      stop_price: "52000.00",
      stop_limit_price: "51000.00",
      quantity: "0.001",
    });
  });

  it("is PERCENT_PRICE_BY_SIDE on the Binance face: in exchangeInfo and as -1013", async () => {
    const { symbol } = await bandedMarket();
    const binanceSymbol = symbol.replace("-", "");
    const info = await ok<{ symbols: { filters: Record<string, unknown>[] }[] }>(
      publicGet("/exchangeInfo", { symbol: binanceSymbol }),
    );
    expect(info.symbols[0]!.filters).toContainEqual({
      filterType: "PERCENT_PRICE_BY_SIDE",
      bidMultiplierUp: "1.1",
      bidMultiplierDown: "0.9",
      askMultiplierUp: "1.2",
      askMultiplierDown: "0.8",
      avgPriceMins: 0,
    });

    const bot = await binanceClient({ USDT: "1000" });
    const refused = await binanceError(
      signedFetch(bot, "POST", "/order", limitOrder(binanceSymbol, "BUY", "50000.00", "0.001")),
      400,
      -1013,
    );
    expect(refused.msg).toBe("Filter failure: PERCENT_PRICE_BY_SIDE");
    await ok(signedFetch(bot, "POST", "/order", limitOrder(binanceSymbol, "BUY", "60000.00", "0.001")));

    expect((await setBand(symbol, null)).status).toBe(200);
    const after = await ok<{ symbols: { filters: { filterType: string }[] }[] }>(
      publicGet("/exchangeInfo", { symbol: binanceSymbol }),
    );
    expect(after.symbols[0]!.filters.map((f) => f.filterType)).not.toContain("PERCENT_PRICE_BY_SIDE");
    await ok(signedFetch(bot, "POST", "/order", limitOrder(binanceSymbol, "BUY", "50000.00", "0.001")));
  });
});
