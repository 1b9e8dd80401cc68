import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  requestSizes,
  ROUND_STOPPED_KEY,
  xaddRowsArguments,
} from "../../../src/domain/events/xadd-rows-script";

const row = fc.record({
  stream: fc.constantFrom("trading:events", "wallet:events", "user-service:events"),
  envelope: fc.string({ maxLength: 40 }),
  page_events: fc.option(fc.integer({ min: 0, max: 3_000 })),
});

describe("xaddRowsArguments", () => {
  it("gives the rows back as runs of one stream, each run's kinds, then the texts in order, then the round's stop mark", () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 60 }), fc.uuid(), (rows, round) => {
        const { keys: all, args: allArgs } = xaddRowsArguments(rows, round);
        expect(all[all.length - 1]).toBe(ROUND_STOPPED_KEY);
        expect(allArgs[allArgs.length - 1]).toBe(round);
        const [keys, args] = [all.slice(0, -1), allArgs.slice(0, -1)];
        const kinds = args.slice(0, keys.length);
        expect(args.slice(keys.length)).toEqual(rows.map((r) => r.envelope));
        expect(keys.flatMap((key, k) => Array<string>(kinds[k]!.length).fill(key))).toEqual(
          rows.map((r) => r.stream),
        );
        expect(kinds.join("")).toBe(rows.map((r) => (r.page_events === null ? "e" : "p")).join(""));
        expect(keys.every((key, k) => k === 0 || keys[k - 1] !== key)).toBe(true);
      }),
    );
  });
});

describe("requestSizes", () => {
  it("cuts the rows in order into requests of whole rows within both bounds, or of one row", () => {
    fc.assert(
      fc.property(
        fc.array(row, { maxLength: 60 }),
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 200 }),
        (rows, maxEvents, maxChars) => {
          const sizes = requestSizes(rows, maxEvents, maxChars);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(rows.length);
          let from = 0;
          for (const [i, size] of sizes.entries()) {
            const chunk = rows.slice(from, (from += size));
            const events = chunk.reduce((n, r) => n + (r.page_events ?? 1), 0);
            const chars = chunk.reduce((n, r) => n + r.envelope.length, 0);
            expect(size).toBeGreaterThanOrEqual(1);
            if (size > 1) expect(events <= maxEvents && chars <= maxChars).toBe(true);
            // The fewest cuts: the next request's first row would not have fitted in this one.
            const next = rows[from];
            if (i < sizes.length - 1 && next) {
              expect(
                events + (next.page_events ?? 1) > maxEvents || chars + next.envelope.length > maxChars,
              ).toBe(true);
            }
          }
        },
      ),
    );
  });
});
