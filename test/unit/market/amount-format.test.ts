import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Memo, printAmount, reprintAmount } from "../../../src/domain/market/amount-format";
import { formatUnits, parseUnits } from "../../../src/lib/money";

describe("amount printing memos", () => {
  it("print what formatUnits prints, first time and remembered, the same value at other decimals too", () => {
    // Values from a small range as well as a wide one, so the same value (and the same short
    // text) comes back at other decimals: a memo shared across decimals answers wrongly then.
    const value = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.bigInt({ min: 0n, max: 2_000n }));
    const amounts = fc.array(fc.tuple(value, fc.integer({ min: 0, max: 18 })), {
      minLength: 1,
      maxLength: 6_000,
    });
    fc.assert(
      fc.property(amounts, (pairs) => {
        for (const [value, decimals] of [...pairs, ...pairs]) {
          const text = formatUnits(value, decimals);
          expect(printAmount(value, decimals)).toBe(text);
          expect(reprintAmount(text, decimals)).toBe(text);
          // The book's grid prints without trailing zeros ("0.001"): reprinted at full places.
          const short = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
          expect(reprintAmount(short, decimals)).toBe(text);
        }
      }),
      { numRuns: 20 },
    );
  });

  it("reprint a shorter decimal with the market's places", () => {
    expect(reprintAmount("0.001", 8)).toBe(formatUnits(parseUnits("0.001", 8), 8));
    expect(reprintAmount("0", 8)).toBe("0.00000000");
  });

  it("peek/keep and get agree, and a kept null is remembered by get", () => {
    const memo = new Memo<string, number | null>();
    let made = 0;
    const make = () => (made++, null);
    expect(memo.get("a", make)).toBeNull();
    expect(memo.get("a", make)).toBeNull();
    expect(made).toBe(1);
    expect(memo.peek("b")).toBeUndefined();
    expect(memo.keep("b", 2)).toBe(2);
    expect(memo.peek("b")).toBe(2);
    expect(memo.get("b", () => 3)).toBe(2);
  });
});
