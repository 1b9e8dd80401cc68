import type { PlaceOrderRequest } from "./placement";

// The rules of PlaceOrderSchema (order-body.ts) as plain checks, for the market socket's order
// entry, where zod was a tenth of the object's thread. It only ever says "valid" (the body as
// the schema returns it) or "not sure" (null): the caller then runs the schema itself, so every
// refusal is still the schema's own, with its code and wording. A unit test holds the two
// together (test/unit/market/order-body-check.test.ts).

const SYMBOL = /^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/;
/** `decimalAmount()` of src/lib/money.ts: at most 100 characters of a plain decimal. */
const AMOUNT = /^\d+(?:\.\d+)?$/;
const TRAILING_OFFSET = /^[1-9]\d{0,9}$/;
const CLIENT_ORDER_ID = /^[A-Za-z0-9._:-]{1,64}$/;

const oneOf = (...values: unknown[]) => {
  const set = new Set(values);
  return (v: unknown) => set.has(v);
};
const amount = (v: unknown) => typeof v === "string" && v.length <= 100 && AMOUNT.test(v);

/** Each field the schema knows, with its check (a Map: a body's own `__proto__` key is unknown). */
const FIELDS = new Map<string, (v: unknown) => boolean>([
  ["market", (v) => typeof v === "string" && SYMBOL.test(v)],
  ["side", oneOf("buy", "sell")],
  ["type", oneOf("limit", "market", "stop_loss", "stop_limit", "trailing_stop", "oco")],
  ["quantity", amount],
  ["quote_quantity", amount],
  ["price", amount],
  ["stop_price", amount],
  ["stop_limit_price", amount],
  ["trailing_offset", (v) => typeof v === "string" && TRAILING_OFFSET.test(v)],
  ["trailing_offset_unit", oneOf("ticks", "bps")],
  ["time_in_force", oneOf("GTC", "IOC", "FOK")],
  ["post_only", (v) => typeof v === "boolean"],
  ["self_trade_prevention", oneOf("expire_taker", "expire_maker", "expire_both")],
  ["visible_quantity", amount],
  ["client_order_id", (v) => typeof v === "string" && CLIENT_ORDER_ID.test(v)],
]);

/**
 * `body` (a parsed JSON object) as PlaceOrderSchema accepts it, its `market` defaulting to
 * `market`; null when any rule might fail (run the schema then). Sets `market` on `body` itself:
 * it is the caller's own freshly parsed object.
 */
export function checkedPlaceOrder(body: Record<string, unknown>, market: string): PlaceOrderRequest | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  for (const key in body) {
    const check = FIELDS.get(key);
    if (!check?.(body[key])) return null;
  }
  if (!Object.hasOwn(body, "side") || !Object.hasOwn(body, "type")) return null;
  if (!Object.hasOwn(body, "market")) body.market = market;
  return body as unknown as PlaceOrderRequest;
}
