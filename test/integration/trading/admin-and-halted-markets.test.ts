// An admin reads any user's orders and trades; a halted market refuses orders and still cancels.
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { markets } from "../../../src/db/schema";
import { runInDurableObject } from "cloudflare:test";
import { readBookRules } from "../../../src/services/markets";
import {
  configureOrderBook,
  loadMarketRules,
  orderBook,
} from "../../../src/services/trading/market-directory";
import { TEST_ADMIN } from "../../setup/global-stack";
import { api, expectError, login } from "../auth/helpers";
import { balanceOf, createMarket, placeOrder, placed, trader, BTC } from "./helpers";
import { toBookRules } from "../../../src/domain/market/market-rules";

/**
 * A market whose rules this isolate cached as active a moment ago is halted (Postgres and its
 * object), then its object's storage is reset: the next call finds it unconfigured.
 */
async function haltThenResetBook(market: string) {
  await withDatabase(env, async (db) => {
    await loadMarketRules(db, market, true);
    await db.update(markets).set({ status: "halted" }).where(eq(markets.symbol, market));
    await configureOrderBook(env, (await readBookRules(db, market))[0]!);
  });
  await runInDurableObject(orderBook(env, market), async (_instance, state) => {
    await state.storage.deleteAll();
    try {
      state.abort("storage reset");
    } catch {}
  }).catch(() => {});
  expect(await orderBook(env, market).getRules()).toBeNull();
}

describe("admin and halted markets", () => {
  it("an admin sees any user's orders and trades; a user cannot", async () => {
    const market = await createMarket();
    const ivan = await trader({ BTC: "0.1" });
    const { order } = await placed(ivan, {
      market,
      side: "sell",
      type: "limit",
      price: "70000.00",
      quantity: "0.01",
    });
    const admin = await login(TEST_ADMIN.email, TEST_ADMIN.password);
    const list = await api("GET", `/api/v1/admin/orders?user_id=${ivan.id}`, { token: admin.access_token });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { orders: { id: string }[] }).orders.map((o) => o.id)).toEqual([order.id]);
    const one = await api("GET", `/api/v1/admin/orders/${order.id}`, { token: admin.access_token });
    expect(one.status).toBe(200);
    const trades = await api("GET", `/api/v1/admin/trades?user_id=${ivan.id}`, { token: admin.access_token });
    expect(trades.status).toBe(200);
    await expectError(await api("GET", "/api/v1/admin/orders", { token: ivan.token }), 403);
  });

  it("halting a market refuses new orders and leaves open orders cancellable", async () => {
    const market = await createMarket();
    const judy = await trader({ BTC: "0.1" });
    const { order } = await placed(judy, {
      market,
      side: "sell",
      type: "limit",
      price: "70000.00",
      quantity: "0.01",
    });
    await withDatabase(env, async (db) => {
      await db.update(markets).set({ status: "halted" }).where(eq(markets.symbol, market));
      await configureOrderBook(env, toBookRules(await loadMarketRules(db, market, true)));
    });
    await expectError(
      await placeOrder(judy, { market, side: "sell", type: "limit", price: "70000.00", quantity: "0.01" }),
      409,
      "MARKET_HALTED",
    );
    const cancelled = await api("DELETE", `/api/v1/orders/${order.id}`, { token: judy.token });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { order: { status: string } }).order.status).toBe("cancelled");
    expect(await balanceOf(judy.id, "BTC")).toEqual({ available: BTC("0.1"), locked: 0n });
  });

  it("a halted market's reset book is configured from Postgres, not the cached rules, on a cancel", async () => {
    const market = await createMarket();
    const kim = await trader({ BTC: "0.1" });
    await haltThenResetBook(market);
    const cancelled = await api("DELETE", `/api/v1/orders?market=${market}`, { token: kim.token });
    expect(cancelled.status).toBe(200);
    expect(await orderBook(env, market).getRules()).toMatchObject({ status: "halted" });
  });

  it("a halted market's reset book is configured from Postgres, not the cached rules, on a placement", async () => {
    const market = await createMarket();
    const kim = await trader({ BTC: "0.1" });
    await haltThenResetBook(market);
    await expectError(
      await placeOrder(kim, { market, side: "sell", type: "limit", price: "70000.00", quantity: "0.01" }),
      409,
      "MARKET_HALTED",
    );
    expect(await orderBook(env, market).getRules()).toMatchObject({ status: "halted" });
    expect(await balanceOf(kim.id, "BTC")).toEqual({ available: BTC("0.1"), locked: 0n });
  });
});
