import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine, type EngineEvent, type PlaceOrder } from "../../../durable-objects/engine";
import { MAX_WINDOW, type PriceLevels, WINDOW } from "../../../durable-objects/engine/price-levels";
import { ReferenceEngine } from "../../reference/reference-engine";
import { bookAround, wideCommands } from "./arbitraries";

/** BTC-USDT in ticks of 0.01: $90,000. */
const MID = 9_000_000;

const windowOf = (engine: MatchingEngine): number =>
  (engine as unknown as { levels: PriceLevels }).levels.window;

const limit = (orderId: number, side: "buy" | "sell", price: number, quantity: number): PlaceOrder => ({
  orderId,
  userId: 1 + (orderId % 7) + (side === "buy" ? 0 : 10),
  side,
  type: "limit",
  price,
  quantity,
});

/** Engine events minus `seq` and level events, for comparison with the reference. */
const comparable = (events: EngineEvent[]): unknown[] =>
  events.filter((e) => e.type !== "level").map(({ seq: _seq, ...rest }) => rest);

describe("the dense window widens when far levels outnumber half its ticks", () => {
  it("up to MAX_WINDOW, with every level found, cancelled and swept as before, and across a snapshot", () => {
    const engine = new MatchingEngine();
    // 40,000 levels within ±3% of the mid, one order each, none crossing: the far sets pass
    // 4,096, 8,192, 16,384 and 32,768 levels on the way, each time the window doubles and takes
    // in the far levels it now covers.
    const book = new Map<number, { side: "buy" | "sell"; price: number; quantity: number }>();
    let state = 7;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return Math.floor((state / 4294967296) * n);
    };
    const prices = new Set<number>();
    for (let id = 1; book.size < 40_000; id++) {
      const buy = (id & 1) === 0;
      const price = buy ? MID - 1 - random(270_000) : MID + random(270_000);
      if (prices.has(price)) continue;
      prices.add(price);
      const side = buy ? "buy" : "sell";
      const quantity = 1 + random(9);
      expect(engine.place(limit(id, side, price, quantity))).toBe(0);
      book.set(id, { side, price, quantity });
      if (id % 5_000 === 0) engine.validateInternalState();
    }
    engine.events.clear();
    expect(windowOf(engine)).toBe(MAX_WINDOW);
    engine.validateInternalState();
    const depthOf = (side: "buy" | "sell"): [number, number][] =>
      [...book.values()]
        .filter((o) => o.side === side)
        .map((o): [number, number] => [o.price, o.quantity])
        .sort((a, b) => (side === "buy" ? b[0] - a[0] : a[0] - b[0]));
    expect(engine.depth(Number.MAX_SAFE_INTEGER)).toEqual({ bids: depthOf("buy"), asks: depthOf("sell") });

    // Cancels anywhere (window and far levels), then a sweep through the best 3,000 bids.
    for (const id of [...book.keys()].filter((id) => id % 3 === 0)) {
      expect(engine.cancel(id)).toBe(0);
      book.delete(id);
    }
    engine.validateInternalState();
    const bids = depthOf("buy");
    const swept = bids.slice(0, 3_000).reduce((sum, [, q]) => sum + q, 0);
    engine.events.clear();
    expect(
      engine.place({ orderId: 100_000, userId: 99, side: "sell", type: "market", quantity: swept }),
    ).toBe(0);
    const trades = engine.events.toArray().filter((e) => e.type === "trade");
    expect(trades.map((e) => [e.price, e.quantity])).toEqual(bids.slice(0, 3_000));
    engine.validateInternalState();
    expect(engine.depth(Number.MAX_SAFE_INTEGER)).toEqual({ bids: bids.slice(3_000), asks: depthOf("sell") });

    const restored = MatchingEngine.restore(engine.snapshot());
    restored.validateInternalState();
    expect(restored.stateHash()).toBe(engine.stateHash());
    expect(windowOf(restored)).toBeGreaterThan(WINDOW);
  }, 60_000);

  it("and the book stays the reference's through random commands and far jumps", () => {
    fc.assert(
      fc.property(wideCommands, fc.nat(), (log, seed) => {
        // Half of 17,000 orders spread over the whole range: far levels enough to widen it.
        const prefill = bookAround(MID, 17_000, seed);
        const engine = new MatchingEngine();
        const reference = new ReferenceEngine({});
        for (const command of prefill) {
          engine.apply(command);
          reference.apply(command);
        }
        engine.events.clear();
        reference.events.length = 0;
        expect(windowOf(engine)).toBeGreaterThan(WINDOW);
        for (const command of log) {
          expect(engine.apply(command)).toBe(reference.apply(command));
          expect(comparable(engine.events.toArray())).toEqual(reference.events.splice(0));
          engine.events.clear();
          engine.validateInternalState();
        }
        expect(engine.depth(Number.MAX_SAFE_INTEGER)).toEqual(reference.depth());
        const restored = MatchingEngine.restore(engine.snapshot());
        restored.validateInternalState();
        expect(restored.stateHash()).toBe(engine.stateHash());
      }),
      { numRuns: 3 },
    );
  }, 120_000);
});
