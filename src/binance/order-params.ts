import { z } from "@hono/zod-openapi";
import type { PlaceOrderRequest } from "../domain/market/placement";
import { BinanceError, eitherMandatory, mandatory, orderRejected } from "./binance-errors";
import { P, SignedParams } from "./params";

/** Binance's client order id rule (newClientOrderId / origClientOrderId). */
export const ClientOrderId = z.string().regex(/^[.A-Z:/a-z0-9_-]{1,36}$/);

export const NewOrderParams = z
  .object({
    symbol: P.symbol,
    side: z.enum(["BUY", "SELL"]),
    type: z.enum([
      "LIMIT",
      "MARKET",
      "STOP_LOSS",
      "STOP_LOSS_LIMIT",
      "TAKE_PROFIT",
      "TAKE_PROFIT_LIMIT",
      "LIMIT_MAKER",
    ]),
    timeInForce: z.enum(["GTC", "IOC", "FOK"]).optional(),
    quantity: P.decimal.optional(),
    quoteOrderQty: P.decimal.optional(),
    price: P.decimal.optional(),
    newClientOrderId: ClientOrderId.optional(),
    stopPrice: P.decimal.optional(),
    trailingDelta: P.int.optional(),
    icebergQty: P.decimal.optional(),
    newOrderRespType: z.enum(["ACK", "RESULT", "FULL"]).optional(),
    selfTradePreventionMode: z
      .enum(["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE", "DECREMENT"])
      .optional(),
    computeCommissionRates: z.enum(["true", "false"]).optional(),
  })
  .extend(SignedParams.shape);

export type NewOrder = z.infer<typeof NewOrderParams>;

/** What names an order's market and, optionally, the order (GET/DELETE /order, the histories). */
const orderOfSymbol = { symbol: P.symbol, orderId: P.int.optional() };

/** An order named by `orderId` or `origClientOrderId` (GET/DELETE /order). */
export const OrderRefParams = z
  .object({
    ...orderOfSymbol,
    origClientOrderId: ClientOrderId.optional(),
    newClientOrderId: ClientOrderId.optional(),
  })
  .extend(SignedParams.shape);

export type OrderRef = z.infer<typeof OrderRefParams>;

/** GET /allOrders and /myTrades: from `orderId` (or trade `fromId`), within a time range. */
export const HistoryParams = z
  .object({
    ...orderOfSymbol,
    fromId: P.int.optional(),
    startTime: P.int.optional(),
    endTime: P.int.optional(),
    limit: P.limit(1000).optional(),
  })
  .extend(SignedParams.shape);

export type History = z.infer<typeof HistoryParams>;

/** "0.00100000" → "0.001": Binance clients pad to 8 places, our assets may have fewer. */
export const trimDecimal = (v: string): string => (v.includes(".") ? v.replace(/\.?0+$/, "") : v);

const notRequired = (name: string) =>
  new BinanceError(400, -1106, `Parameter '${name}' sent when not required.`);

function need<K extends keyof NewOrder>(p: NewOrder, ...names: K[]): void {
  for (const name of names) if (p[name] === undefined) throw mandatory(String(name));
}

/** What every order (a list's too) has: market, side and self-trade prevention (NONE / DECREMENT refused). */
export function orderCommon(market: string, side: "BUY" | "SELL", stp: NewOrder["selfTradePreventionMode"]) {
  if (stp === "NONE" || stp === "DECREMENT") {
    throw orderRejected(`selfTradePreventionMode ${stp} is not supported.`);
  }
  return {
    market,
    side: side === "BUY" ? ("buy" as const) : ("sell" as const),
    ...(stp ? { self_trade_prevention: stp.toLowerCase() as "expire_taker" } : {}),
  };
}

/**
 * Binance's order parameters as Pandora's order (the one placement path checks every rule).
 * What the engine has no counterpart for is refused here: take-profit types, trailing limit
 * stops and self-trade prevention NONE / DECREMENT.
 */
export function toPlaceOrder(p: NewOrder, market: string): PlaceOrderRequest {
  const dec = (v: string | undefined) => (v === undefined ? undefined : trimDecimal(v));
  const common = {
    ...orderCommon(market, p.side, p.selfTradePreventionMode),
    ...(p.newClientOrderId ? { client_order_id: p.newClientOrderId } : {}),
    ...(p.icebergQty ? { visible_quantity: dec(p.icebergQty) } : {}),
  };
  switch (p.type) {
    case "LIMIT":
      need(p, "price", "quantity", "timeInForce");
      return {
        ...common,
        type: "limit",
        price: dec(p.price),
        quantity: dec(p.quantity),
        time_in_force: p.timeInForce,
      };
    case "LIMIT_MAKER":
      need(p, "price", "quantity");
      if (p.timeInForce) throw notRequired("timeInForce");
      return { ...common, type: "limit", price: dec(p.price), quantity: dec(p.quantity), post_only: true };
    case "MARKET":
      if (p.quantity === undefined && p.quoteOrderQty === undefined)
        throw eitherMandatory("quantity", "quoteOrderQty");
      if (p.quantity !== undefined && p.quoteOrderQty !== undefined) throw notRequired("quoteOrderQty");
      return p.quantity !== undefined
        ? { ...common, type: "market", quantity: dec(p.quantity) }
        : { ...common, type: "market", quote_quantity: dec(p.quoteOrderQty) };
    case "STOP_LOSS":
      need(p, "quantity");
      if (p.stopPrice === undefined && p.trailingDelta === undefined)
        throw eitherMandatory("stopPrice", "trailingDelta");
      if (p.stopPrice !== undefined && p.trailingDelta !== undefined) {
        throw new BinanceError(400, -1014, "Unsupported order combination.");
      }
      return p.stopPrice !== undefined
        ? { ...common, type: "stop_loss", quantity: dec(p.quantity), stop_price: dec(p.stopPrice) }
        : {
            ...common,
            type: "trailing_stop",
            quantity: dec(p.quantity),
            trailing_offset: p.trailingDelta,
            trailing_offset_unit: "bps",
          };
    case "STOP_LOSS_LIMIT":
      need(p, "price", "quantity", "stopPrice", "timeInForce");
      if (p.trailingDelta !== undefined) throw new BinanceError(400, -1014, "Unsupported order combination.");
      return {
        ...common,
        type: "stop_limit",
        price: dec(p.price),
        quantity: dec(p.quantity),
        stop_price: dec(p.stopPrice),
        time_in_force: p.timeInForce,
      };
    case "TAKE_PROFIT":
      throw orderRejected("Take profit orders are not supported for this symbol.");
    case "TAKE_PROFIT_LIMIT":
      throw orderRejected("Take profit limit orders are not supported for this symbol.");
  }
}

/** Binance's default reply: FULL for LIMIT and MARKET, ACK for the other types. */
export const responseType = (p: NewOrder): "ACK" | "RESULT" | "FULL" =>
  p.newOrderRespType ?? (p.type === "LIMIT" || p.type === "MARKET" ? "FULL" : "ACK");
