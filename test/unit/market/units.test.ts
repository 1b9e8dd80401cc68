import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MarketGrid, decimalToMinor, minorToDecimal, placesOf } from "../../../src/domain/market/units";

describe("market units", () => {
  const btc = new MarketGrid(8, 6, 10_000n, 1_000n); // tick 0.01 USDT, lot 0.00001 BTC

  it("converts prices to ticks and quantities to lots exactly, refusing off-grid values", () => {
    expect(btc.ticks("64000.10")).toBe(6_400_010);
    expect(btc.ticks("64000.1")).toBe(6_400_010);
    expect(btc.ticks("64000.105")).toBeNull();
    expect(btc.lots("0.5")).toBe(50_000);
    expect(btc.lots("0.000001")).toBeNull();
    for (const bad of ["", "1e3", "-1", " 1", "1.", ".5", "0x10", 1, null]) expect(btc.ticks(bad)).toBeNull();
    expect(btc.price(6_400_010)).toBe("64000.10");
    expect(btc.quantity(50_000)).toBe("0.50000");
    expect(btc.notionalMinor(6_400_000, 100)).toBe(64_000_000n); // 64,000 × 0.001 = 64 USDT
    expect(btc.quote(btc.quoteUnits("100")!)).toBe("100.000000");
  });

  it("formats on the fast path exactly as the BigInt path does", () => {
    const eth = new MarketGrid(18, 6, 10_000n, 10n ** 14n);
    const odd = new MarketGrid(8, 6, 25_000n, 3n); // tick 0.025, lot 0.00000003
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (n) => {
        for (const g of [btc, eth, odd]) {
          expect(g.price(n)).toBe(minorToDecimal(g.priceMinor(n), g.quoteDecimals, g.priceDecimals));
          expect(g.quantity(n)).toBe(minorToDecimal(g.quantityMinor(n), g.baseDecimals, g.quantityDecimals));
        }
      }),
    );
    expect(odd.price(3)).toBe("0.075");
    expect(eth.quantity(12_345)).toBe("1.2345");
  });

  it("prints minor units exactly as BigInt does, past 2^53 and with a lot above it", () => {
    const eth = new MarketGrid(18, 6, 10_000n, 10n ** 14n); // lot × lots passes 2^53 at ~90 lots
    const huge = new MarketGrid(18, 18, 2n ** 60n, 2n ** 55n + 1n);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        for (const g of [btc, eth, huge]) {
          expect(g.priceMinorText(n)).toBe(g.priceMinor(n).toString());
          expect(g.quantityMinorText(n)).toBe(g.quantityMinor(n).toString());
        }
      }),
    );
    expect(btc.priceMinorText(6_400_010)).toBe("64000100000");
    expect(eth.quantityMinorText(2 ** 31 - 1)).toBe(((2n ** 31n - 1n) * 10n ** 14n).toString());
  });

  it("decimal ↔ minor round-trips for any amount", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }), (v, d) => {
        expect(decimalToMinor(minorToDecimal(v, d), d)).toBe(v);
      }),
    );
  });

  it("derives display places from the step", () => {
    expect(placesOf(10_000n, 6)).toBe(2);
    expect(placesOf(1_000n, 8)).toBe(5);
    expect(placesOf(10n ** 14n, 18)).toBe(4);
    expect(placesOf(3n, 6)).toBe(6);
  });
});
