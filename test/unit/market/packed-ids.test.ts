import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PackedIds } from "../../../durable-objects/market/packed-ids";
import { newOrderId } from "../../../src/domain/market/order-id";
import { lowercaseUuid, notPackable } from "./order-id-arbitraries";

interface Stored {
  id: string;
  user: number;
}

/** What `packed` holds for `num`, read as OrderIds reads it. */
function read(packed: PackedIds, num: number): Stored | undefined {
  const slot = packed.slotOf(num);
  return slot < 0 ? undefined : { id: packed.orderIdAt(slot), user: packed.userAt(slot) };
}

/** Every stored order prints back exactly, nothing else is found, and the buffer fits the count. */
function expectSame(packed: PackedIds, model: Map<number, Stored>, gone: Iterable<number>): void {
  expect(packed.count).toBe(model.size);
  const wrong: unknown[] = [];
  for (const [num, stored] of model) {
    const got = read(packed, num);
    if (got?.id !== stored.id || got.user !== stored.user) wrong.push({ num, stored, got });
  }
  for (const num of gone)
    if (!model.has(num) && packed.slotOf(num) !== -1) wrong.push({ num, got: read(packed, num) });
  expect(wrong).toEqual([]);
  expect(packed.capacity).toBeGreaterThanOrEqual(model.size);
  // Grown by doubling (at most twice what it holds), shrunk after a drain (at most 8 times).
  expect(packed.capacity === 1024 || packed.capacity < 8 * model.size).toBe(true);
}

const user = fc.integer({ min: 1, max: 2 ** 31 - 1 });

/** Changes to the store: single adds (packable or not), deletes, bursts that grow it and drains that shrink it. */
const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant("add" as const), id: lowercaseUuid, user, pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("refuse" as const), id: notPackable, user, pick: fc.nat() }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("delete" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("burst" as const),
      n: fc.noBias(fc.integer({ min: 100, max: 2500 })),
      user,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant("drain" as const), keep: fc.integer({ min: 0, max: 40 }) }),
  },
);

describe("PackedIds", () => {
  it("gives back every lowercase UUID byte-exact with its user through adds, deletes, slot reuse, growth and shrinking", () => {
    // Runs whose buffer grew past its start and shrank back after a drain: both must happen.
    let grown = 0;
    let shrunk = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 10, maxLength: 60, size: "max" }), (steps) => {
        const packed = new PackedIds();
        let largest = packed.capacity;
        let shrank = false;
        const model = new Map<number, Stored>();
        const seen: number[] = [];
        let nextNum = 1;
        // A step's number: mostly a fresh one (as the market numbers orders), sometimes one seen before.
        const numFor = (pick: number) =>
          pick % 4 === 0 && seen.length ? seen[pick % seen.length]! : nextNum++;
        for (const s of steps) {
          if (s.t === "add") {
            const num = numFor(s.pick);
            expect(packed.add(num, s.id, s.user)).toBe(true);
            model.set(num, { id: s.id, user: s.user });
            seen.push(num);
          } else if (s.t === "refuse") {
            // Refused: nothing stored, and what the number had stays as it was.
            const num = numFor(s.pick);
            expect(packed.add(num, s.id, s.user)).toBe(false);
            seen.push(num);
          } else if (s.t === "delete") {
            const num = numFor(s.pick);
            expect(packed.delete(num)).toBe(model.delete(num));
            seen.push(num);
          } else if (s.t === "burst") {
            for (let i = 0; i < s.n; i++) {
              const num = nextNum++;
              const id = newOrderId();
              packed.add(num, id, s.user + i);
              model.set(num, { id, user: s.user + i });
            }
          } else {
            let left = model.size;
            for (const num of [...model.keys()]) {
              if (left-- <= s.keep) break;
              packed.delete(num);
              model.delete(num);
              seen.push(num);
            }
          }
          if (packed.capacity < largest) shrank = true;
          largest = Math.max(largest, packed.capacity);
          expectSame(
            packed,
            model,
            s.t === "add" || s.t === "refuse" || s.t === "delete" ? seen.slice(-1) : [],
          );
        }
        expectSame(packed, model, seen);
        if (largest > 1024) grown++;
        if (shrank) shrunk++;
      }),
      { numRuns: 100 },
    );
    expect(grown).toBeGreaterThan(20);
    expect(shrunk).toBeGreaterThan(10);
  }, 60_000);

  it("refuses what would not print back as given, keeping nothing", () => {
    fc.assert(
      fc.property(notPackable, (id) => {
        const packed = new PackedIds();
        expect(packed.add(1, id, 1)).toBe(false);
        expect(packed.count).toBe(0);
        expect(packed.slotOf(1)).toBe(-1);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives a 100,000-order burst's buffer back once it drains", () => {
    const packed = new PackedIds();
    const ids = Array.from({ length: 100_000 }, () => newOrderId());
    ids.forEach((id, i) => expect(packed.add(i + 1, id, 7)).toBe(true));
    expect(packed.capacity).toBe(131_072);
    for (let num = 1; num <= 99_990; num++) packed.delete(num);
    expect(packed.capacity).toBe(1024);
    for (let num = 99_991; num <= 100_000; num++)
      expect(read(packed, num)).toEqual({ id: ids[num - 1], user: 7 });
  }, 60_000);
});
