import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MatchingEngine, OK } from "../../../durable-objects/engine";
import { IN_PLACE_BYTES } from "../../../durable-objects/engine/record-buffer";
import { ENGINE_CONFIG } from "../../../durable-objects/market/restore";
import { configuredBook } from "./helpers";

// Order records are 64 B and level records 32 B: 40,000 orders on 40,000 prices take both past
// IN_PLACE_BYTES, where they move into a growable SharedArrayBuffer (record-buffer.ts). Node has
// one; this checks workerd's, inside a market object, with the production engine config.
const ORDERS = 40_000;

/** A bid of its own price (10 ticks per order id), so each order makes its own level. */
const bid = (id: number) =>
  ({ orderId: id, userId: 1 + (id % 89), side: "buy", type: "limit", price: 10 * id, quantity: id }) as const;

/** Places bids `from`..`to`; every one rests. */
function placeBids(engine: MatchingEngine, from: number, to: number): void {
  for (let id = from; id <= to; id++) {
    if (engine.place(bid(id)) !== OK) throw new Error(`bid ${id} rejected`);
    engine.events.clear();
  }
}

/** Checks the invariants, then that a restore of its snapshot is the same book. */
function restoredTwin(engine: MatchingEngine): MatchingEngine {
  engine.validateInternalState();
  const restored = MatchingEngine.restore(engine.snapshot());
  restored.validateInternalState();
  expect(restored.stateHash()).toBe(engine.stateHash());
  expect(restored.orderCount).toBe(engine.orderCount);
  expect(restored.depth(ORDERS)).toEqual(engine.depth(ORDERS));
  return restored;
}

describe("matching engine records past IN_PLACE_BYTES in workerd", () => {
  it("grows in place, cancels, snapshots, restores and grows again after a restore", async () => {
    const book = await configuredBook("GROW-USDT");
    await runInDurableObject(book, () => {
      expect(navigator.userAgent).toBe("Cloudflare-Workers");
      const engine = new MatchingEngine(ENGINE_CONFIG);
      placeBids(engine, 1, ORDERS);
      // Both record arrays moved to the growable shared buffer.
      expect(engine.sharedBytes).toBeGreaterThanOrEqual(ORDERS * 64 + IN_PLACE_BYTES);
      for (let i = 3; i <= ORDERS; i += 3) expect(engine.cancel(i)).toBe(OK);
      engine.events.clear();
      const restored = restoredTwin(engine);

      // A restore sizes its records in an ArrayBuffer; growing on takes them into a shared one.
      placeBids(restored, ORDERS + 1, 2 * ORDERS);
      placeBids(engine, ORDERS + 1, 2 * ORDERS);
      expect(restored.sharedBytes).toBeGreaterThan(0);
      expect(restored.stateHash()).toBe(engine.stateHash());
      restoredTwin(restored);

      // Matching across the grown records: a sell sweeps the best 1,000 bids.
      let best = 0;
      for (let i = 2 * ORDERS; i > 2 * ORDERS - 1_000; i--) best += i;
      expect(
        engine.place({ orderId: 3 * ORDERS, userId: 1_000, side: "sell", type: "market", quantity: best }),
      ).toBe(OK);
      engine.events.clear();
      expect(engine.orderCount).toBe(restored.orderCount - 1_000);
      restoredTwin(engine);
    });
  });
});
