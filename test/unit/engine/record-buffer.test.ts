import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatchingEngine, OK } from "../../../durable-objects/engine";
import { IN_PLACE_BYTES, RecordBuffer } from "../../../durable-objects/engine/record-buffer";

/** Writes word i = seed + i over the whole buffer and returns its Int32 view. */
function fill(buffer: RecordBuffer, seed: number): Int32Array {
  const words = buffer.int32();
  for (let i = 0; i < words.length; i++) words[i] = seed + i;
  return words;
}

describe("record buffer (records' memory that grows in place once large)", () => {
  it("keeps its contents and zeroes new bytes through copies, the move in place and a new reservation", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 5 * IN_PLACE_BYTES }), fc.boolean()), {
          minLength: 1,
          maxLength: 6,
        }),
        (steps) => {
          // A small reservation, so growing beyond it (a new reservation and a copy) is exercised.
          const buffer = new RecordBuffer(64, 8 * IN_PLACE_BYTES, 3 * IN_PLACE_BYTES);
          let before = fill(buffer, 7);
          let shared = false;
          for (const [size, prefault] of steps
            .map(([s, p]): [number, boolean] => [64 + (s & ~7), p])
            .sort((a, b) => a[0] - b[0])) {
            const length = before.length;
            buffer.grow(Math.max(size, buffer.byteLength), prefault);
            // In place once a growth (not a restore's sizing, `prefault` false) passes IN_PLACE_BYTES.
            shared ||= prefault && buffer.byteLength >= IN_PLACE_BYTES;
            const after = buffer.int32();
            expect(buffer.byteLength).toBe(Math.max(size, length * 4));
            for (let i = 0; i < length; i += 997) expect(after[i]).toBe(7 + i);
            expect(after[length - 1]).toBe(7 + length - 1);
            for (let i = length; i < after.length; i += 997) expect(after[i]).toBe(0);
            expect(buffer.sharedBytes).toBe(shared ? buffer.byteLength : 0);
            before = fill(buffer, 7);
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("gives Int32 and Float64 views of the same bytes", () => {
    const buffer = new RecordBuffer(64, 4 * IN_PLACE_BYTES);
    buffer.grow(2 * IN_PLACE_BYTES, false);
    buffer.float64()[3] = 1.5;
    expect(new Float64Array(buffer.int32().buffer, 24, 1)[0]).toBe(1.5);
    expect(buffer.float64().length).toBe(IN_PLACE_BYTES / 4);
  });
});

describe("an engine whose orders and levels outgrow IN_PLACE_BYTES", () => {
  it("keeps every invariant, restores to the same state, and reports the shared bytes", () => {
    const engine = new MatchingEngine();
    // 40,000 bids on 40,000 prices: order records (64 B) and level records (32 B) both pass 1 MB.
    const orders = 40_000;
    for (let i = 1; i <= orders; i++) {
      expect(
        engine.place({
          orderId: i,
          userId: 1 + (i % 97),
          side: "buy",
          type: "limit",
          price: 10 * i,
          quantity: i,
        }),
      ).toBe(OK);
      engine.events.clear();
    }
    for (let i = 3; i <= orders; i += 3) engine.cancel(i);
    engine.events.clear();
    engine.validateInternalState();
    expect(engine.sharedBytes).toBeGreaterThanOrEqual((orders * 64 + orders * 32) / 1.5);
    const restored = MatchingEngine.restore(engine.snapshot());
    restored.validateInternalState();
    expect(restored.stateHash()).toBe(engine.stateHash());
    expect(
      engine.place({ orderId: orders + 1, userId: 1, side: "sell", type: "market", quantity: 100 }),
    ).toBe(OK);
    engine.validateInternalState();
  });

  it("grows its level records up to one level per order of `maxOrders`, not past the reservation", () => {
    // Growth by half from the initial capacity overshoots 40,001 levels at 27,995 of them: it is capped there.
    const engine = new MatchingEngine({ maxOrders: 40_000 });
    for (let i = 1; i < 40_000; i++) {
      expect(
        engine.place({ orderId: i, userId: 1, side: "buy", type: "limit", price: 10 * i, quantity: 1 }),
      ).toBe(OK);
      engine.events.clear();
    }
    engine.validateInternalState();
    const restored = MatchingEngine.restore(engine.snapshot());
    restored.validateInternalState();
    expect(restored.stateHash()).toBe(engine.stateHash());
  });
});
