import { describe, expect, it } from "vitest";
import { MatchingEngine, type PlaceOrder } from "../../../durable-objects/engine";
import { WINDOW } from "../../../durable-objects/engine/price-levels";
import { bookTable, table, tradesTable } from "./book-tables";

/** BTC-USDT in ticks of 0.01: $90,000. */
const MID = 9_000_000;

function limit(
  orderId: number,
  userId: number,
  side: "buy" | "sell",
  price: number,
  quantity = 1,
): PlaceOrder {
  return { orderId, userId, side, type: "limit", price, quantity };
}

describe("prices far from the touch", () => {
  it("rest at any distance, from 1 tick to maxPrice, and show in depth", () => {
    const engine = new MatchingEngine();
    for (const order of [
      limit(1, 1, "buy", MID),
      limit(2, 2, "sell", MID + 1),
      limit(3, 1, "buy", MID * 0.7), // −30%
      limit(4, 2, "sell", MID * 2), // +100%
      limit(5, 1, "buy", 1),
      limit(6, 2, "sell", 2 ** 31 - 1),
    ]) {
      expect(engine.place(order)).toBe(0);
    }
    expect(engine.depth(10)).toEqual({
      bids: [
        [MID, 1],
        [MID * 0.7, 1],
        [1, 1],
      ],
      asks: [
        [MID + 1, 1],
        [MID * 2, 1],
        [2 ** 31 - 1, 1],
      ],
    });
    engine.validateInternalState();
  });

  it("a forgotten far order does not block trading anywhere else", () => {
    const engine = new MatchingEngine();
    engine.place(limit(1, 1, "buy", 100)); // one forgotten bid at $1
    for (let i = 0; i < 50; i++) {
      const price = MID + (i % 2 === 0 ? -i : i) * 1_000;
      expect(engine.place(limit(10 + i, 2 + (i % 2), i % 2 === 0 ? "buy" : "sell", price))).toBe(0);
    }
    engine.validateInternalState();
    expect(engine.orderCount).toBe(51);
  });

  it("a sweep walks from the window through far levels, and the window follows the touch", () => {
    const engine = new MatchingEngine();
    const prices = [MID, MID - 10, MID - WINDOW, MID - 3 * WINDOW, MID * 0.8, MID * 0.5];
    prices.forEach((price, i) => engine.place(limit(i + 1, 1, "buy", price, 2)));
    engine.events.clear();
    engine.place({ orderId: 100, userId: 2, side: "sell", type: "market", quantity: 9 });
    expect(tradesTable(engine.events.toArray())).toEqual(
      table(`
        taker | maker | price   | qty
        #100  | #1    | 9000000 | 2
        #100  | #2    | 8999990 | 2
        #100  | #3    | 8991808 | 2
        #100  | #4    | 8975424 | 2
        #100  | #5    | 7200000 | 1
      `),
    );
    engine.validateInternalState();
    // The touch is now 20% lower: orders around it are dense again and trade as usual.
    expect(engine.place(limit(101, 3, "sell", MID * 0.8 + 5))).toBe(0);
    expect(engine.place(limit(102, 3, "buy", MID * 0.8 + 1))).toBe(0);
    expect(bookTable(engine)).toEqual(
      table(`
        side | price   | orders
        ask  | 7200005 | #101:1
        bid  | 7200001 | #102:1
        bid  | 7200000 | #5:1
        bid  | 4500000 | #6:2
      `),
    );
    engine.validateInternalState();
  });

  it("a touch that jumps by half and back keeps every level in place", () => {
    const engine = new MatchingEngine();
    for (let i = 0; i < 200; i++) {
      engine.place(limit(1 + i, 1, "buy", MID - 1 - i * 97));
      engine.place(limit(1_001 + i, 2, "sell", MID + 1 + i * 101));
    }
    const before = engine.depth(1_000);
    engine.cancelAll(2);
    // The bid touch jumps up by half (every bid and the window's levels go far) and back.
    expect(engine.place(limit(5_000, 3, "buy", MID * 1.5))).toBe(0);
    engine.validateInternalState();
    engine.cancel(5_000);
    engine.validateInternalState();
    // Then a sell at half the price takes the best bid only, and the asks come back.
    engine.place(limit(5_001, 4, "sell", MID * 0.5));
    for (let i = 0; i < 200; i++) engine.place(limit(6_000 + i, 2, "sell", MID + 1 + i * 101));
    engine.validateInternalState();
    const after = engine.depth(1_000);
    expect(after.bids).toEqual(before.bids.slice(1));
    expect(after.asks).toEqual(before.asks);
  });
});

describe("snapshots of version 1", () => {
  // Taken with the engine of version 1 (config with maxLevelSpan): bids 9,000,000 ×4 (#1, user 7)
  // and 8,999,000 ×2 (#3), an iceberg ask 9,000,100 ×1+2 (#2, user 8), a sell stop at 8,990,000 (#5, user 9).
  const V1 =
    "c79c95820501808040ffffffff07ffffffff1f0080801080080cc0a8a5040401078020c0a8a504000000050104000003078020d8a0a504000000020002000002088120a4a9a50400000003000101000509953000b0daa4040000020000000002010101030101020105";
  const bytes = Uint8Array.from(V1.match(/../g)!.map((h) => parseInt(h, 16)));

  it("restore, and the engine then writes version 2", () => {
    const engine = MatchingEngine.restore(bytes);
    engine.validateInternalState();
    expect(engine.depth(10)).toEqual({
      bids: [
        [9_000_000, 4],
        [8_999_000, 2],
      ],
      asks: [[9_000_100, 1]],
    });
    expect(engine.config).toEqual({
      maxOrders: 1 << 20,
      maxPrice: 2 ** 31 - 1,
      maxQuantity: Math.floor(Number.MAX_SAFE_INTEGER / (1 << 20)),
      priceBandTicks: 0,
      initialOrders: 1024,
    });
    expect(engine.lastTradePrice()).toBe(9_000_000);
    expect(engine.getOrder(5)).toMatchObject({ status: "pending_stop", stopPrice: 8_990_000 });
    const again = MatchingEngine.restore(engine.snapshot());
    expect(again.stateHash()).toBe(engine.stateHash());
    expect(engine.snapshot()[5], "the version after the 5-byte magic").toBe(2);
  });
});
