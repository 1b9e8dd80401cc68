import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api } from "../auth/helpers";
import { placed, trader } from "../trading/helpers";

const MARKET = "BTC-USDT";

/** Cents of a decimal price string (prices here are far below 2^53 cents). */
const cents = (price: string): number => Math.round(Number(price) * 100);
const decimal = (c: number): string => (c / 100).toFixed(2);

async function depth(): Promise<{ bids: [string, string][]; asks: [string, string][] }> {
  const res = await SELF.fetch(`http://x/api/v1/markets/${MARKET}/depth?limit=100`);
  expect(res.status).toBe(200);
  return (await res.json()) as { bids: [string, string][]; asks: [string, string][] };
}

describe("prices far from the last trade", () => {
  it("a bid at −30% and an ask at +100% of the last price both rest and show in the depth", async () => {
    const seller = await trader({ BTC: "1" });
    const buyer = await trader({ USDT: "200000" });
    // A trade sets the last price (whatever else rests in the shared book, the fill says where it traded).
    await placed(seller, {
      market: MARKET,
      side: "sell",
      type: "limit",
      price: "90000.00",
      quantity: "0.001",
    });
    const taken = await placed(buyer, {
      market: MARKET,
      side: "buy",
      type: "limit",
      price: "90000.00",
      quantity: "0.001",
    });
    expect(taken.fills.length).toBeGreaterThan(0);
    const last = cents(taken.fills[taken.fills.length - 1]!.price!);

    const bidPrice = decimal(Math.floor((last * 7) / 10));
    const askPrice = decimal(last * 2);
    const bid = await placed(buyer, {
      market: MARKET,
      side: "buy",
      type: "limit",
      price: bidPrice,
      quantity: "0.001",
    });
    const ask = await placed(seller, {
      market: MARKET,
      side: "sell",
      type: "limit",
      price: askPrice,
      quantity: "0.001",
    });
    expect([bid.order.status, ask.order.status]).toEqual(["new", "new"]);

    // The depth is cached for half a second: read until both levels are there.
    let book = await depth();
    for (let i = 0; i < 20 && !(hasLevel(book.bids, bidPrice) && hasLevel(book.asks, askPrice)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      book = await depth();
    }
    expect(hasLevel(book.bids, bidPrice), JSON.stringify(book.bids)).toBe(true);
    expect(hasLevel(book.asks, askPrice), JSON.stringify(book.asks)).toBe(true);

    // Leave the shared market as it was.
    for (const [who, order] of [
      [buyer, bid],
      [seller, ask],
    ] as const) {
      const res = await api("DELETE", `/api/v1/orders/${order.order.id}`, { token: who.token });
      expect(res.status).toBe(200);
    }
  });
});

function hasLevel(levels: [string, string][], price: string): boolean {
  return levels.some(([p]) => cents(p) === cents(price));
}
