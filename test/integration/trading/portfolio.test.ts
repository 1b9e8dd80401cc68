import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { loadMarketRules, orderBook } from "../../../src/services/trading/market-directory";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { api, expectError } from "../auth/helpers";
import { createMarket, placed, trader } from "./helpers";

// ETH, so that no other test's trades move the last price used for valuation.
const ETH_RULES = { baseAsset: "ETH", lotSize: 10n ** 14n, minQuantity: 10n ** 14n, maxQuantity: 10n ** 21n };

async function get<T>(path: string, token: string): Promise<T> {
  const res = await api("GET", path, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

describe("portfolio", () => {
  it("positions: buys move the average cost, sells realize P&L against it; the summary values balances", async () => {
    const market = await createMarket(ETH_RULES);
    const alice = await trader({ ETH: "1", USDT: "2000" });
    const bob = await trader({ USDT: "10000" });
    await placed(alice, { market, side: "sell", type: "limit", price: "3000.00", quantity: "1" });
    const settle = () =>
      withDatabase(env, async (db) =>
        settleMarket(db, orderBook(env, market), await loadMarketRules(db, market, true), { wait: true }),
      );
    await placed(bob, { market, side: "buy", type: "limit", price: "3000.00", quantity: "1" }); // taker: 0.002 ETH fee
    await settle(); // Bob's ETH is his to sell once the fill settled
    await placed(alice, { market, side: "buy", type: "limit", price: "3100.00", quantity: "0.5" });
    await placed(bob, { market, side: "sell", type: "market", quantity: "0.5" }); // taker: 3.1 USDT fee
    await settle();

    const { positions } = await get<{ positions: Record<string, string>[] }>(
      "/api/v1/portfolio/positions",
      bob.token,
    );
    expect(positions).toEqual([
      {
        asset: "ETH",
        market,
        quantity: "0.498000000000000000",
        average_cost: "3006.012024", // 3,000 USDT for the 0.998 ETH received
        last_price: "3100.000000",
        market_value: "1543.800000",
        realized_pnl: "43.893988", // 1,546.9 net proceeds − 0.5 × 3,006.012024…
        unrealized_pnl: "46.806012",
      },
    ]);

    const summary = await get<{ total_value: string; balances: { asset: string; value: string | null }[] }>(
      "/api/v1/portfolio?quote=USDT",
      bob.token,
    );
    expect(summary.total_value).toBe("10090.700000"); // 8,546.9 USDT + 0.498 ETH × 3,100
    expect(summary.balances.find((b) => b.asset === "ETH")!.value).toBe("1543.800000");

    const pnl = await get<{ trades: number; realized_pnl: string; fees: string }>(
      "/api/v1/portfolio/pnl",
      bob.token,
    );
    expect(pnl).toMatchObject({ trades: 2, realized_pnl: "43.893988", fees: "9.100000" });
    const before = await get<{ trades: number }>(
      "/api/v1/portfolio/pnl?to=2020-01-01T00:00:00Z&from=2019-01-01T00:00:00Z",
      bob.token,
    );
    expect(before.trades).toBe(0);
  });

  it("watchlist: add (idempotent), list, remove; unknown markets are a 404", async () => {
    const market = await createMarket();
    const user = await trader();
    const add = () => api("POST", "/api/v1/watchlist", { token: user.token, body: { symbol: market } });
    expect((await add()).status).toBe(200);
    expect((await add()).status).toBe(200);
    const list = await get<{ watchlist: { symbol: string }[] }>("/api/v1/watchlist", user.token);
    expect(list.watchlist.map((w) => w.symbol)).toEqual([market]);
    await expectError(
      await api("POST", "/api/v1/watchlist", { token: user.token, body: { symbol: "NOPE-USDT" } }),
      404,
      "MARKET_NOT_FOUND",
    );
    expect((await api("DELETE", `/api/v1/watchlist/${market}`, { token: user.token })).status).toBe(200);
    await expectError(
      await api("DELETE", `/api/v1/watchlist/${market}`, { token: user.token }),
      404,
      "NOT_FOUND",
    );
  });
});
