import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../../../durable-objects/engine";
import type { IdIndex } from "../../../durable-objects/engine/id-index";
import {
  F64_SHIFT,
  type OrderPool,
  PREV,
  PRICE,
  RECORD_SHIFT,
  SHOWN,
} from "../../../durable-objects/engine/order-pool";
import type { PriceLevels } from "../../../durable-objects/engine/price-levels";

/** The engine's private parts, to break them on purpose. */
interface Internals {
  pool: OrderPool;
  ids: IdIndex;
  levels: PriceLevels;
  live: number;
  trailingStops: number;
}

/** Bids at 6,300,010 (#1, #2) and at 100, far below the window (#3); an ask at 6,300,015 (#4); a sell stop (#5). */
function book(): { engine: MatchingEngine; parts: Internals } {
  const engine = new MatchingEngine();
  engine.place({ orderId: 1, userId: 1, side: "buy", type: "limit", price: 6_300_010, quantity: 5 });
  engine.place({ orderId: 2, userId: 2, side: "buy", type: "limit", price: 6_300_010, quantity: 3 });
  engine.place({ orderId: 3, userId: 1, side: "buy", type: "limit", price: 100, quantity: 2 });
  engine.place({ orderId: 4, userId: 3, side: "sell", type: "limit", price: 6_300_015, quantity: 4 });
  engine.place({ orderId: 5, userId: 3, side: "sell", type: "stop_loss", stopPrice: 90, quantity: 1 });
  engine.validateInternalState();
  return { engine, parts: engine as unknown as Internals };
}

const slotOf = (parts: Internals, orderId: number): number => parts.ids.find(orderId, parts.pool.f64);
/** Overwrites an Int32 or a Float64 field of an order's record. */
const setInt = (p: Internals, orderId: number, field: number, value: number): void => {
  p.pool.i32[(slotOf(p, orderId) << RECORD_SHIFT) + field] = value;
};
const setNum = (p: Internals, orderId: number, field: number, value: number): void => {
  p.pool.f64[(slotOf(p, orderId) << F64_SHIFT) + field] = value;
};
const addVisible = (p: Internals, price: number, delta: number): void => {
  const level = p.levels.levelAt(price);
  p.levels.setVisible(level, p.levels.visibleOf(level) + delta);
};

describe("validateInternalState", () => {
  it("passes on a consistent book, and after a snapshot round trip", () => {
    const { engine } = book();
    MatchingEngine.restore(engine.snapshot()).validateInternalState();
  });

  it.each<[string, (parts: Internals) => void, RegExp]>([
    [
      "a level total that is not the sum of its orders",
      (p) => addVisible(p, 6_300_010, 1),
      /bid level 6300010 totals 9, its orders 8/,
    ],
    ["a far level total", (p) => addVisible(p, 100, -1), /bid level 100 totals 1, its orders 2/],
    ["an order's shown quantity above its remaining", (p) => setNum(p, 4, SHOWN, 5), /order 4 shows 5 of 4/],
    ["a live-order counter off by one", (p) => void p.live++, /6 live orders, 4 resting and 1 stops/],
    ["a trailing-stop counter off", (p) => void p.trailingStops++, /1 trailing stops counted, 0 listed/],
    [
      "a best bid that is not the best",
      (p) => {
        p.levels.bestBid = 100;
      },
      /levels, .* reachable from the touch/,
    ],
    [
      "an order lost from the id index",
      (p) => p.ids.remove(slotOf(p, 2), p.pool.f64),
      /the id index holds 4 ids for 5 live orders|order 2 is not found by its id/,
    ],
    [
      "a broken back link in a level's queue",
      (p) => setInt(p, 2, PREV, -1),
      /order 2 at bid 6300010 has a wrong back link/,
    ],
    [
      "an order whose price is not its level's",
      (p) => setInt(p, 4, PRICE, 6_300_000),
      /order 4 is in ask level 6300015/,
    ],
  ])("throws on %s", (_name, breakIt, message) => {
    const { engine, parts } = book();
    breakIt(parts);
    expect(() => engine.validateInternalState()).toThrow(message);
  });
});
