import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../../src/lib/errors";
import { formatUnits } from "../../../src/lib/money";
import { quoteAmount, quoteScale } from "../../../src/domain/market/market-rules";
import { prepareOrder, type OrderInput } from "../../../src/domain/market/order-input";
import { BTC_USDT, ETH_USDT } from "./fixtures";

function codeOf(input: OrderInput, rules = BTC_USDT): string {
  try {
    prepareOrder(rules, input);
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return "OK";
}

describe("an order is checked against each market rule with its own code", () => {
  const limit = (over: Partial<OrderInput>): OrderInput => ({
    side: "buy",
    type: "limit",
    price: "64000.01",
    quantity: "0.001",
    ...over,
  });

  it.each([
    ["a valid limit buy", limit({}), "OK"],
    ["price off the 0.01 tick", limit({ price: "64000.015" }), "INVALID_TICK"],
    ["price with more decimals than USDT has", limit({ price: "1.0000001" }), "INVALID_PRICE"],
    ["price as an exponent", limit({ price: "1e5" }), "INVALID_PRICE"],
    ["price beyond int32 ticks", limit({ price: "30000000" }), "PRICE_OUT_OF_RANGE"],
    ["quantity off the 0.00001 lot", limit({ quantity: "0.000015" }), "INVALID_LOT"],
    ["quantity above max", limit({ quantity: "101", price: "1" }), "QUANTITY_TOO_LARGE"],
    ["notional below 5 USDT", limit({ quantity: "0.00001" }), "NOTIONAL_TOO_SMALL"],
    ["zero quantity", limit({ quantity: "0" }), "INVALID_QUANTITY"],
    ["limit without price", limit({ price: undefined }), "INVALID_ORDER"],
    ["market with a price", { side: "sell", type: "market", price: "1", quantity: "1" }, "INVALID_ORDER"],
    ["market buy by base quantity", { side: "buy", type: "market", quantity: "1" }, "UNBOUNDED_BUY"],
    ["stop_loss buy", { side: "buy", type: "stop_loss", stop_price: "1", quantity: "1" }, "UNBOUNDED_BUY"],
    ["quote on a sell", { side: "sell", type: "market", quote_quantity: "100" }, "INVALID_ORDER"],
    [
      "quote below min notional",
      { side: "buy", type: "market", quote_quantity: "4.99" },
      "NOTIONAL_TOO_SMALL",
    ],
    ["post-only IOC", limit({ post_only: true, time_in_force: "IOC" }), "INVALID_ORDER"],
    ["iceberg peak above quantity", limit({ visible_quantity: "0.002" }), "INVALID_ORDER"],
    ["GTC market", { side: "sell", type: "market", quantity: "1", time_in_force: "GTC" }, "INVALID_ORDER"],
  ] as [string, OrderInput, string][])("%s → %s", (_name, input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  it("a minimum quantity below one lot's multiple is its own code", () => {
    expect(
      codeOf(limit({ quantity: "0.00001", price: "600000" }), { ...BTC_USDT, minQuantity: 2_000n }),
    ).toBe("QUANTITY_TOO_SMALL");
  });

  it("a halted or cancel-only market accepts no order", () => {
    expect(codeOf(limit({}), { ...BTC_USDT, status: "halted" })).toBe("MARKET_HALTED");
    expect(codeOf(limit({}), { ...BTC_USDT, status: "cancel-only" })).toBe("MARKET_CANCEL_ONLY");
  });
});

describe("converting to engine units", () => {
  it("maps price and quantity exactly onto ticks and lots, and locks what the order can spend", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(BTC_USDT, ETH_USDT),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.constantFrom("buy" as const, "sell" as const),
        (rules, ticks, lots, side) => {
          const price = BigInt(ticks) * rules.tickSize;
          const quantity = BigInt(lots) * rules.lotSize;
          const exact = price * quantity; // quote minor × 10^baseDecimals
          const unit = 10n ** BigInt(rules.baseDecimals);
          fc.pre(exact >= rules.minNotional * unit && quantity <= rules.maxQuantity);
          const order = prepareOrder(rules, {
            side,
            type: "limit",
            price: formatUnits(price, rules.quoteDecimals),
            quantity: formatUnits(quantity, rules.baseDecimals),
          });
          expect(order.engine).toMatchObject({ price: ticks, quantity: lots });
          expect(order.price).toBe(price);
          expect(order.quantity).toBe(quantity);
          if (side === "sell") {
            expect(order.lock).toEqual({ asset: rules.baseAsset, amount: quantity });
          } else {
            // price × quantity rounded up to a whole quote minor unit
            expect(order.lock.asset).toBe(rules.quoteAsset);
            expect(order.lock.amount * unit).toBeGreaterThanOrEqual(exact);
            expect((order.lock.amount - 1n) * unit).toBeLessThan(exact);
          }
        },
      ),
    );
  });

  it("a market buy by quote gets the largest engine budget its quote amount covers", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(BTC_USDT, ETH_USDT),
        fc.bigInt({ min: 5_000_000n, max: 10n ** 14n }),
        (rules, quote) => {
          const order = prepareOrder(rules, {
            side: "buy",
            type: "market",
            quote_quantity: formatUnits(quote, rules.quoteDecimals),
          });
          const scale = quoteScale(rules);
          const units = BigInt(order.engine.quoteQuantity!);
          expect(order.lock).toEqual({ asset: rules.quoteAsset, amount: quote });
          expect(quoteAmount(scale, units, "ceil")).toBeLessThanOrEqual(quote);
          expect(quoteAmount(scale, units + 1n, "ceil")).toBeGreaterThan(quote);
        },
      ),
    );
  });

  it("seeded ETH-USDT fills are whole micro-USDT; BTC-USDT's are tenths, which round down", () => {
    expect(quoteScale(ETH_USDT)).toEqual({ num: 1n, den: 1n });
    expect(quoteScale(BTC_USDT)).toEqual({ num: 1n, den: 10n });
    // 64000.01 USDT × 0.00001 BTC = 0.6400001 USDT
    expect(quoteAmount(quoteScale(BTC_USDT), 6_400_001n)).toBe(640_000n);
    expect(quoteAmount(quoteScale(BTC_USDT), 6_400_001n, "ceil")).toBe(640_001n);
  });
});
