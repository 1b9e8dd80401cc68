import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PlaceOrderSchema } from "../../../src/domain/market/order-body";
import { checkedPlaceOrder } from "../../../src/domain/market/order-body-check";

// The socket's lean order check may only ever say "valid" where the REST schema says so too,
// with the same body; where it is not sure, the schema decides (and words the refusal).

const MARKET = "BTC-USDT";
const amounts = [
  "0.001",
  "64000.00",
  "1",
  "0",
  "00.10",
  "1e5",
  "-1",
  " 1",
  "1.",
  ".5",
  "1".repeat(101),
  1,
  null,
];
const pools: Record<string, unknown[]> = {
  market: [MARKET, "ETH-USDT", "btc-usdt", "B-USDT", "", 7],
  side: ["buy", "sell", "BUY", "", null],
  type: ["limit", "market", "stop_loss", "stop_limit", "trailing_stop", "oco", "twap", 1],
  quantity: amounts,
  quote_quantity: amounts,
  price: amounts,
  stop_price: amounts,
  stop_limit_price: amounts,
  trailing_offset: ["1", "25", "0", "01", "12345678901", 5],
  trailing_offset_unit: ["ticks", "bps", "pct"],
  time_in_force: ["GTC", "IOC", "FOK", "gtc"],
  post_only: [true, false, "true", 0],
  self_trade_prevention: ["expire_taker", "expire_maker", "expire_both", "none"],
  visible_quantity: amounts,
  client_order_id: ["a-1", "x".repeat(64), "x".repeat(65), "bad id", "", "é", 3],
  extra: ["x"],
  __proto__: [{}],
};

const body = fc.subarray(Object.keys(pools), { minLength: 0, maxLength: 8 }).chain((keys) =>
  fc.tuple(...keys.map((k) => fc.constantFrom(...pools[k]!))).map((values) => {
    // As JSON.parse builds it: `__proto__` an own key like any other.
    const json = `{${keys.map((k, i) => `${JSON.stringify(k)}:${JSON.stringify(values[i])}`).join(",")}}`;
    return JSON.parse(json) as Record<string, unknown>;
  }),
);

describe("the socket's lean order body check", () => {
  it("accepts only what the REST schema accepts, as the schema returns it", () => {
    fc.assert(
      fc.property(body, (b) => {
        const schema = PlaceOrderSchema.safeParse({ market: MARKET, ...b });
        const lean = checkedPlaceOrder(structuredClone(b), MARKET);
        if (lean) {
          expect(schema.success).toBe(true);
          expect({ ...lean }).toEqual(schema.data);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it("passes the orders traders send without the schema", () => {
    const orders = [
      { side: "buy", type: "limit", price: "64000.00", quantity: "0.001" },
      { market: MARKET, side: "sell", type: "limit", price: "1.5", quantity: "2", client_order_id: "mm:1" },
      { side: "buy", type: "market", quote_quantity: "100", time_in_force: "IOC" },
      { side: "sell", type: "oco", quantity: "1", price: "70000", stop_price: "60000" },
      { side: "buy", type: "limit", price: "1", quantity: "1", post_only: true, visible_quantity: "0.1" },
    ];
    for (const order of orders) {
      expect(checkedPlaceOrder({ ...order }, MARKET)).toEqual({ market: MARKET, ...order });
    }
  });
});
