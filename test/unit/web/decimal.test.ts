import { describe, expect, it } from "vitest";
import { compareDecimal, fromUnits, multiply, toUnits, trimZeros } from "../../../web/src/lib/decimal";
import {
  notionalError,
  priceError,
  quantityError,
  totalError,
  type Market,
} from "../../../web/src/lib/order-rules";

describe("decimal strings as bigints", () => {
  it("reads and prints exactly, refusing more significant places than the scale", () => {
    expect(toUnits("60000.01", 2)).toBe(6000001n);
    expect(toUnits("0.010000", 2)).toBe(1n); // trailing zeros beyond the scale are fine
    expect(toUnits("0.015", 2)).toBeNull();
    expect(toUnits("1e3", 2)).toBeNull();
    expect(toUnits("-1", 2)).toBeNull();
    expect(fromUnits(6000001n, 2)).toBe("60000.01");
    expect(fromUnits(5n, 8)).toBe("0.00000005");
    expect(fromUnits(-5n, 2)).toBe("-0.05");
  });

  it("multiplies and compares without floating point (0.1 × 3 is 0.3, not 0.30000000000000004)", () => {
    expect(multiply("0.1", "3", 2)).toBe("0.30");
    expect(multiply("60000.00", "0.01000", 2)).toBe("600.00");
    expect(multiply("64000.11", "0.00001", 6)).toBe("0.640001");
    expect(compareDecimal("9007199254740993.01", "9007199254740993.02")).toBe(-1);
    expect(trimZeros("0.50000")).toBe("0.5");
    expect(trimZeros("5.000")).toBe("5");
  });
});

describe("the order form's checks of the market's rules", () => {
  const btc: Market = {
    symbol: "BTC-USDT",
    base_asset: "BTC",
    quote_asset: "USDT",
    status: "trading",
    tick_size: "0.010000",
    lot_size: "0.00001000",
    min_quantity: "0.00001000",
    max_quantity: "100.00000000",
    min_notional: "5.000000",
    maker_fee_bps: 10,
    taker_fee_bps: 20,
    price_decimals: 2,
    quantity_decimals: 5,
    percent_price: null,
    max_open_orders: null,
  };

  it("enforces tick, lot, minimum and maximum quantity and minimum notional", () => {
    expect(priceError(btc, "60000.00")).toBeUndefined();
    expect(priceError(btc, "60000.001")).toMatch(/at most 2 decimals/);
    expect(priceError(btc, "0")).toMatch(/above 0/);
    expect(quantityError(btc, "0.01")).toBeUndefined();
    expect(quantityError(btc, "0.000015")).toMatch(/at most 5 decimals/);
    expect(quantityError(btc, "100.00001")).toMatch(/at most 100/);
    expect(notionalError(btc, "100.00", "0.01")).toBe("Order value 1 USDT is below the minimum 5");
    expect(notionalError(btc, "500.00", "0.01")).toBeUndefined();
    expect(totalError(btc, "4.99")).toMatch(/at least 5 USDT/);
  });
});
