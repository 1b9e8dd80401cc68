// Two users trade through the REST API: every minor unit accounted for.
import { describe, expect, it } from "vitest";
import { api } from "../auth/helpers";
import {
  balanceOf,
  createMarket,
  feesOfMarket,
  ledgerSum,
  placed,
  reservedByOpenOrders,
  trader,
  BTC,
  USDT,
  settle,
} from "./helpers";

describe("two users trade through the REST API", () => {
  it("resting order, partial fill, full fill, cancel of the remainder: every minor unit accounted for", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const bob = await trader({ USDT: "10000" });
    const sums = { BTC: await ledgerSum("BTC"), USDT: await ledgerSum("USDT") };

    // Alice rests 0.03 BTC at 64,000.
    const ask = await placed(alice, {
      market,
      side: "sell",
      type: "limit",
      price: "64000.00",
      quantity: "0.03",
    });
    expect(ask.order).toMatchObject({
      status: "new",
      filled_quantity: "0.00000000",
      remaining_quantity: "0.03000000",
    });
    expect(ask.fills).toEqual([]);
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.97"), locked: BTC("0.03") });

    // Bob takes 0.01 of it: Alice partially filled, Bob filled.
    const first = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "64000.00",
      quantity: "0.01",
    });
    expect(first.order.status).toBe("filled");
    expect(first.fills).toEqual([
      expect.objectContaining({
        price: "64000.000000",
        quantity: "0.01000000",
        fee: "0.00002000",
        fee_asset: "BTC",
        liquidity: "taker",
      }),
    ]);

    // Bob bids higher for 0.01 more: fills at Alice's 64,000; the 5 USDT of price improvement is released.
    const second = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "64500.00",
      quantity: "0.01",
    });
    expect(second.order.status).toBe("filled");
    await settle(market);

    const asks = await api("GET", `/api/v1/orders/${ask.order.id}`, { token: alice.token });
    expect(((await asks.json()) as { order: Record<string, string> }).order).toMatchObject({
      status: "partially_filled",
      filled_quantity: "0.02000000",
      remaining_quantity: "0.01000000",
    });

    // Alice cancels the remaining 0.01.
    const cancelled = await api("DELETE", `/api/v1/orders/${ask.order.id}`, { token: alice.token });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { order: Record<string, unknown> }).order).toMatchObject({
      status: "cancelled",
      filled_quantity: "0.02000000",
      remaining_quantity: "0.00000000",
      locked: { asset: "BTC", amount: "0.03000000", consumed: "0.02000000", released: "0.01000000" },
    });

    // Bob leaves a bid resting: its lock stays.
    const bid = await placed(bob, {
      market,
      side: "buy",
      type: "limit",
      price: "63000.00",
      quantity: "0.01",
    });
    expect(bid.order.status).toBe("new");
    await settle(market);

    // Alice: sold 0.02 BTC for 1,280 USDT minus her 0.1 % maker fee (0.64 per fill).
    expect(await balanceOf(alice.id, "BTC")).toEqual({ available: BTC("0.98"), locked: 0n });
    expect(await balanceOf(alice.id, "USDT")).toEqual({ available: USDT("1278.72"), locked: 0n });
    // Bob: paid 1,280 USDT, got 0.02 BTC minus his 0.2 % taker fee (0.00002 per fill); 630 locked by the bid.
    expect(await balanceOf(bob.id, "BTC")).toEqual({ available: BTC("0.01996"), locked: 0n });
    expect(await balanceOf(bob.id, "USDT")).toEqual({ available: USDT("8090"), locked: USDT("630") });
    // The fees sit in the fee account.
    expect(await feesOfMarket(market, "BTC")).toBe(BTC("0.00004"));
    expect(await feesOfMarket(market, "USDT")).toBe(USDT("1.28"));
    // Locked equals what the open orders still reserve.
    for (const [user, asset] of [
      [alice.id, "BTC"],
      [alice.id, "USDT"],
      [bob.id, "BTC"],
      [bob.id, "USDT"],
    ] as const) {
      expect((await balanceOf(user, asset)).locked).toBe(await reservedByOpenOrders(user, asset));
    }
    // Nothing was created or lost: per asset the sum over all accounts is unchanged.
    expect(await ledgerSum("BTC")).toBe(sums.BTC);
    expect(await ledgerSum("USDT")).toBe(sums.USDT);

    // History: Bob's two trades, his open order; Alice's closed order.
    const trades = (await (
      await api("GET", `/api/v1/trades?market=${market}`, { token: bob.token })
    ).json()) as {
      trades: { side: string; price: string; fee_asset: string; liquidity: string }[];
    };
    expect(trades.trades).toHaveLength(2);
    expect(
      trades.trades.every((t) => t.side === "buy" && t.fee_asset === "BTC" && t.liquidity === "taker"),
    ).toBe(true);
    const open = (await (
      await api("GET", `/api/v1/orders?state=open&market=${market}`, { token: bob.token })
    ).json()) as {
      orders: { id: string }[];
    };
    expect(open.orders.map((o) => o.id)).toEqual([bid.order.id]);
    const closed = (await (
      await api("GET", "/api/v1/orders?state=closed&limit=1", { token: alice.token })
    ).json()) as {
      orders: { id: string }[];
      next_cursor: string | null;
    };
    expect(closed.orders.map((o) => o.id)).toEqual([ask.order.id]);
  });
});
