import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FarLevels } from "../../../durable-objects/engine/far-levels";

/** One operation on the far set; keys from a small range so inserts and removals meet often. */
const operation = fc.oneof(
  fc.record({ op: fc.constant("add" as const), key: fc.integer({ min: -400, max: 400 }) }),
  fc.record({ op: fc.constant("remove" as const), key: fc.integer({ min: -400, max: 400 }) }),
  fc.record({ op: fc.constant("pop" as const) }),
  fc.record({ op: fc.constant("before" as const), key: fc.integer({ min: -401, max: 401 }) }),
);

describe("far levels (the sorted block set outside the window)", () => {
  it("behaves like a sorted map through finds, inserts after a find, removals and pops", () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 1500 }), (ops) => {
        const far = new FarLevels();
        const model = new Map<number, number>();
        let next = 0;
        for (const o of ops) {
          if (o.op === "add") {
            // As PriceLevels does: look the key up, and insert it when absent (reusing the search).
            const found = far.find(o.key);
            expect(found).toBe(model.get(o.key) ?? -1);
            if (found === -1) {
              far.insert(o.key, next);
              model.set(o.key, next++);
            }
          } else if (o.op === "remove") {
            if (model.has(o.key)) {
              far.remove(o.key);
              model.delete(o.key);
            }
          } else if (o.op === "pop") {
            if (model.size > 0) {
              const last = Math.max(...model.keys());
              expect(far.lastKey()).toBe(last);
              expect(far.popLast()).toBe(model.get(last));
              model.delete(last);
            }
          } else {
            const below = [...model.keys()].filter((k) => k < o.key);
            expect(far.before(o.key)).toBe(below.length === 0 ? 0 : Math.max(...below));
          }
          expect(far.size).toBe(model.size);
        }
        far.validate();
        const seen: [number, number][] = [];
        far.forEach((key, val) => seen.push([key, val]));
        expect(seen).toEqual([...model].sort((a, b) => a[0] - b[0]));
      }),
      { numRuns: 300 },
    );
  });

  it("finds and orders keys from the whole price range: prices (bids) and their negatives (asks)", () => {
    // The searches compare by the sign of a difference, exact while a set's keys share one sign:
    // keys at both ends of the range (1 and 2^31 − 1) must still sort and be found.
    const MAX = 2147483647;
    const edge = fc.oneof(
      fc.integer({ min: 1, max: 64 }),
      fc.integer({ min: MAX - 64, max: MAX }),
      fc.integer({ min: 1, max: MAX }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.tuple(fc.boolean(), edge), { maxLength: 800 }), (asks, ops) => {
        const far = new FarLevels();
        const model = new Map<number, number>();
        let next = 0;
        for (const [add, price] of ops) {
          const key = asks ? -price : price;
          expect(far.find(key)).toBe(model.get(key) ?? -1);
          if (add && !model.has(key)) {
            far.insert(key, next);
            model.set(key, next++);
          } else if (!add && model.has(key)) {
            far.remove(key);
            model.delete(key);
          }
          const below = [...model.keys()].filter((k) => k < key);
          expect(far.before(key)).toBe(below.length === 0 ? 0 : Math.max(...below));
        }
        far.validate();
        if (model.size > 0) expect(far.lastKey()).toBe(Math.max(...model.keys()));
      }),
      { numRuns: 200 },
    );
  });
});
