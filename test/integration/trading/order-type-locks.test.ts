// Each order type through REST locks what it can consume.
import { describe, expect, it } from "vitest";
import { api, expectError } from "../auth/helpers";
import { balanceOf, createMarket, placeOrder, placed, trader, BTC, USDT, settle } from "./helpers";

describe("order types through REST", () => {
  it("market by quote, post-only, iceberg, stop-limit and trailing stop lock what they can consume", async () => {
    const market = await createMarket();
    const seller = await trader({ BTC: "1" });
    const buyer = await trader({ USDT: "10000" });
    await placed(seller, {
      market,
      side: "sell",
      type: "limit",
      price: "50000.00",
      quantity: "0.1",
      visible_quantity: "0.01",
    });
    // A market buy of 100 USDT takes 0.002 BTC (100 USDT at 50,000); nothing of the 100 is left over.
    const byQuote = await placed(buyer, { market, side: "buy", type: "market", quote_quantity: "100" });
    expect(byQuote.order).toMatchObject({ status: "filled", filled_quantity: "0.00200000" });
    // Post-only that would take: refused by the book, its lock released at once.
    const postOnly = await placeOrder(buyer, {
      market,
      side: "buy",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
      post_only: true,
    });
    const refused = await expectError(postOnly, 422, "ORDER_REJECTED");
    expect(refused.error.details).toMatchObject({ reason: "POST_ONLY_WOULD_TAKE" });
    // A stop-limit buy locks its limit price × quantity; a trailing stop sell locks its quantity.
    const stop = await placed(buyer, {
      market,
      side: "buy",
      type: "stop_limit",
      stop_price: "60000.00",
      price: "61000.00",
      quantity: "0.01",
    });
    expect(stop.order.locked).toMatchObject({ asset: "USDT", amount: "610.000000" });
    const trailing = await placed(seller, {
      market,
      side: "sell",
      type: "trailing_stop",
      trailing_offset: "100",
      quantity: "0.01",
    });
    expect(trailing.order.locked).toMatchObject({ asset: "BTC", amount: "0.01000000" });
    await settle(market);
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("9290"), locked: USDT("610") });
    expect(await balanceOf(buyer.id, "BTC")).toEqual({ available: BTC("0.001996"), locked: 0n });
    for (const id of [stop.order.id, trailing.order.id]) {
      const token = id === stop.order.id ? buyer.token : seller.token;
      expect((await api("DELETE", `/api/v1/orders/${id}`, { token })).status).toBe(200);
    }
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("9900"), locked: 0n });
    expect(await balanceOf(seller.id, "BTC")).toEqual({ available: BTC("0.9"), locked: BTC("0.098") });
  });
});
