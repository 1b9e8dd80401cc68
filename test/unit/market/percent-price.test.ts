import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_MULTIPLIER_BPS,
  ONE_BPS,
  outsidePercentBand,
  percentPriceColumns,
  percentPriceOfColumns,
  percentPriceOfView,
  percentPriceProblem,
  percentPriceView,
  type PercentPriceRule,
} from "../../../src/domain/market/percent-price";

const MAX_TICKS = 2 ** 31 - 1;
const down = fc.integer({ min: 1, max: ONE_BPS });
const up = fc.integer({ min: ONE_BPS, max: MAX_MULTIPLIER_BPS });
const rules: fc.Arbitrary<PercentPriceRule> = fc.record({
  bidUpBps: up,
  bidDownBps: down,
  askUpBps: up,
  askDownBps: down,
});
const ticks = fc.integer({ min: 1, max: MAX_TICKS });
const side = fc.constantFrom("buy" as const, "sell" as const);

/** The rule in exact bigint arithmetic, independent of the code under test. */
function insideExactly(r: PercentPriceRule, s: "buy" | "sell", price: number, ref: number): boolean {
  const [u, d] = s === "buy" ? [r.bidUpBps, r.bidDownBps] : [r.askUpBps, r.askDownBps];
  const p = BigInt(price) * 10_000n;
  return p <= BigInt(ref) * BigInt(u) && p >= BigInt(ref) * BigInt(d);
}

describe("the percent price band", () => {
  it("accepts exactly the prices within [down, up] × the reference (exact integer arithmetic)", () => {
    fc.assert(
      fc.property(rules, side, ticks, ticks, (r, s, price, ref) => {
        expect(outsidePercentBand(r, s, price, ref) === null).toBe(insideExactly(r, s, price, ref));
      }),
      { numRuns: 5_000 },
    );
  });

  it("always accepts the reference price itself, and every price without a reference or a rule", () => {
    fc.assert(
      fc.property(rules, side, ticks, (r, s, price) => {
        expect(outsidePercentBand(r, s, price, price)).toBeNull();
        expect(outsidePercentBand(r, s, price, null)).toBeNull();
        expect(outsidePercentBand(null, s, price, 1)).toBeNull();
      }),
    );
  });

  it("accepts both bounds and refuses one tick beyond them", () => {
    const r = { bidUpBps: 11_000, bidDownBps: 9_000, askUpBps: 12_000, askDownBps: 8_000 };
    expect(outsidePercentBand(r, "buy", 110, 100)).toBeNull();
    expect(outsidePercentBand(r, "buy", 111, 100)).toMatch(/at most 1\.1×/);
    expect(outsidePercentBand(r, "buy", 90, 100)).toBeNull();
    expect(outsidePercentBand(r, "buy", 89, 100)).toMatch(/at least 0\.9×/);
    expect(outsidePercentBand(r, "sell", 120, 100)).toBeNull();
    expect(outsidePercentBand(r, "sell", 121, 100)).not.toBeNull();
    expect(outsidePercentBand(r, "sell", 80, 100)).toBeNull();
    expect(outsidePercentBand(r, "sell", 79, 100)).not.toBeNull();
  });

  it("round-trips through the API's decimal multipliers and the table's columns", () => {
    fc.assert(
      fc.property(rules, (r) => {
        expect(percentPriceProblem(r)).toBeNull();
        expect(percentPriceOfView(percentPriceView(r)!)).toEqual(r);
        expect(percentPriceOfColumns(percentPriceColumns(r))).toEqual(r);
      }),
    );
    expect(percentPriceView(null)).toBeNull();
    expect(percentPriceOfColumns(percentPriceColumns(null))).toBeNull();
  });

  it("refuses bands that would exclude the reference or overflow, and malformed multipliers", () => {
    const ok = { bidUpBps: 11_000, bidDownBps: 9_000, askUpBps: 12_000, askDownBps: 8_000 };
    expect(percentPriceProblem(null)).toBeNull();
    expect(percentPriceProblem({ ...ok, bidDownBps: 10_001 })).not.toBeNull();
    expect(percentPriceProblem({ ...ok, askUpBps: 9_999 })).not.toBeNull();
    expect(percentPriceProblem({ ...ok, askUpBps: MAX_MULTIPLIER_BPS + 1 })).not.toBeNull();
    expect(percentPriceProblem({ ...ok, bidDownBps: 0 })).not.toBeNull();
    expect(percentPriceProblem({ ...ok, bidUpBps: 1.5e4 + 0.5 })).not.toBeNull();
    expect(percentPriceProblem("5")).not.toBeNull();
    const view = percentPriceView(ok)!;
    expect(typeof percentPriceOfView({ ...view, bid_multiplier_down: "1.0001" })).toBe("string");
    expect(typeof percentPriceOfView({ ...view, ask_multiplier_up: "0.12345" })).toBe("string");
    expect(typeof percentPriceOfView({ ...view, ask_multiplier_up: "100.0001" })).toBe("string");
  });
});
