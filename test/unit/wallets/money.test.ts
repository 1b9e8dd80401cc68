import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_MINOR_UNITS, MoneyError, decimalAmount, formatUnits, parseUnits } from "../../../src/lib/money";

const decimalsArb = fc.constantFrom(0, 2, 6, 8, 18);

describe("parseUnits / formatUnits", () => {
  it("round-trips every representable amount exactly", () => {
    fc.assert(
      fc.property(decimalsArb, fc.bigInt({ min: 0n, max: MAX_MINOR_UNITS }), (decimals, units) => {
        const text = formatUnits(units, decimals);
        expect(text.split(".")[1]?.length ?? 0).toBe(decimals);
        expect(parseUnits(text, decimals, { allowZero: true })).toBe(units);
      }),
    );
  });

  it("round-trips signed amounts", () => {
    fc.assert(
      fc.property(decimalsArb, fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (decimals, units) => {
        expect(parseUnits(formatUnits(units, decimals), decimals, { signed: true, allowZero: true })).toBe(
          units,
        );
      }),
    );
  });

  it("agrees with a digit-string model for any well-formed input", () => {
    fc.assert(
      fc.property(
        decimalsArb,
        fc.stringMatching(/^[0-9]{1,30}$/),
        fc.stringMatching(/^[0-9]{0,18}$/),
        (decimals, whole, fraction) => {
          const text = fraction ? `${whole}.${fraction}` : whole;
          const expected =
            BigInt(whole) * 10n ** BigInt(decimals) +
            BigInt((fraction || "0").padEnd(decimals, "0").slice(0, decimals) || "0");
          if (fraction.length > decimals) {
            expect(() => parseUnits(text, decimals)).toThrow(MoneyError);
          } else if (expected === 0n) {
            expect(() => parseUnits(text, decimals)).toThrow(/greater than zero/);
          } else {
            expect(parseUnits(text, decimals)).toBe(expected);
          }
        },
      ),
    );
  });

  it("never accepts what is not a plain decimal", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!/^\d+(\.\d+)?$/.test(text));
        expect(() => parseUnits(text, 8)).toThrow(MoneyError);
      }),
    );
  });

  it.each([
    ["0.000000001", "precision"],
    ["1e-8", "format"],
    ["1E8", "format"],
    ["-1", "sign"],
    ["+1", "format"],
    [" 1", "format"],
    ["1.", "format"],
    [".5", "format"],
    ["0x10", "format"],
    ["0", "range"],
    ["0.00000000", "range"],
    ["1" + "0".repeat(80), "range"],
    ["Infinity", "format"],
    ["NaN", "format"],
    ["", "format"],
  ])("rejects %j for BTC (%s)", (text, reason) => {
    try {
      parseUnits(text, 8);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MoneyError);
      expect((err as MoneyError).reason).toBe(reason);
    }
  });

  it("formats the API shapes", () => {
    expect(formatUnits(10_000_000n, 8)).toBe("0.10000000");
    expect(formatUnits(0n, 8)).toBe("0.00000000");
    expect(formatUnits(1n, 18)).toBe("0.000000000000000001");
    expect(formatUnits(-150n, 2)).toBe("-1.50");
    expect(formatUnits(42n, 0)).toBe("42");
    expect(parseUnits("64000.1", 6)).toBe(64_000_100_000n);
    expect(parseUnits("-0.5", 8, { signed: true })).toBe(-50_000_000n);
  });
});

describe("decimalAmount schema", () => {
  const schema = decimalAmount();
  it("rejects JSON numbers and non-decimal strings", () => {
    for (const value of [1, 0.5, 1e-8, null, true, "1e-8", "-1", "", " 1"]) {
      expect(schema.safeParse(value).success).toBe(false);
    }
    expect(schema.safeParse("0.5").success).toBe(true);
    expect(decimalAmount({ signed: true }).safeParse("-0.5").success).toBe(true);
  });
});
