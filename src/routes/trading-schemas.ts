import { z } from "@hono/zod-openapi";
import { decimalAmount } from "../lib/money";

/** A market symbol, BASE-QUOTE. */
export const Symbol = z
  .string()
  .regex(/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/)
  .openapi({ example: "BTC-USDT" });

const amount = (example: string) => z.string().openapi({ example });

export const OrderSchema = z
  .object({
    id: z.string(),
    client_order_id: z.string().nullable(),
    market: z.string(),
    side: z.enum(["buy", "sell"]),
    type: z.string(),
    status: z.string().openapi({
      description:
        "new | partially_filled | filled | cancelled | expired | rejected (pending: an order left by the first order path, before the market object recorded orders itself)",
    }),
    time_in_force: z.string(),
    post_only: z.boolean(),
    self_trade_prevention: z.string(),
    price: amount("64000.100000").nullable(),
    stop_price: z.string().nullable(),
    quantity: amount("0.50000000").nullable(),
    quote_quantity: z.string().nullable(),
    visible_quantity: z.string().nullable(),
    trailing_offset: z.string().nullable(),
    trailing_offset_unit: z.string().nullable(),
    oco_group_id: z
      .string()
      .nullable()
      .openapi({ description: "Both legs of an OCO carry the pair's id (the limit leg's id)" }),
    filled_quantity: amount("0.10000000"),
    remaining_quantity: z.string().nullable(),
    filled_quote: z.string(),
    locked: z.object({ asset: z.string(), amount: z.string(), consumed: z.string(), released: z.string() }),
    reject_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    closed_at: z.string().nullable(),
  })
  .openapi("Order");

export const FillSchema = z
  .object({
    trade_id: z.string(),
    order_id: z.string().optional().openapi({ description: "The order that filled" }),
    price: z.string(),
    quantity: z.string(),
    fee: z.string(),
    fee_asset: z
      .string()
      .openapi({ description: "What this side receives: base for a buy, quote for a sell" }),
    liquidity: z.enum(["maker", "taker"]),
  })
  .openapi("Fill");

export const MyTradeSchema = z
  .object({
    trade_id: z.string(),
    market: z.string(),
    order_id: z.string(),
    side: z.string(),
    price: z.string(),
    quantity: z.string(),
    quote_quantity: z.string(),
    fee: z.string(),
    fee_asset: z.string(),
    liquidity: z.enum(["maker", "taker"]),
    executed_at: z.string(),
  })
  .openapi("MyTrade");

/** The body of `POST /api/v1/orders` (and of the socket's `order.place`). */
export const PlaceOrderSchema = z
  .strictObject({
    market: Symbol,
    side: z.enum(["buy", "sell"]),
    type: z.enum(["limit", "market", "stop_loss", "stop_limit", "trailing_stop", "oco"]).openapi({
      description:
        "oco: a GTC limit leg at `price` and a stop leg triggered at `stop_price` (a stop_limit at " +
        "`stop_limit_price`, required for a buy, or else a stop-market), same side and quantity; " +
        "a fill or trigger of one leg, or a cancel of either, cancels the other. A sell's price " +
        "must be above its stop price, a buy's below. The pair locks once: a sell its quantity, " +
        "a buy the larger of its legs' price × quantity. `client_order_id` names the limit leg.",
    }),
    quantity: decimalAmount({ example: "0.5" }).optional(),
    quote_quantity: decimalAmount({ example: "100" }).optional(),
    price: decimalAmount({ example: "64000.10" }).optional(),
    stop_price: decimalAmount().optional(),
    stop_limit_price: decimalAmount()
      .optional()
      .openapi({ description: "oco only: the stop leg's limit price" }),
    trailing_offset: z
      .string()
      .regex(/^[1-9]\d{0,9}$/)
      .optional()
      .openapi({ description: "Whole ticks or bps" }),
    trailing_offset_unit: z.enum(["ticks", "bps"]).optional(),
    time_in_force: z.enum(["GTC", "IOC", "FOK"]).optional(),
    post_only: z.boolean().optional(),
    self_trade_prevention: z.enum(["expire_taker", "expire_maker", "expire_both"]).optional(),
    visible_quantity: decimalAmount().optional(),
    client_order_id: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,64}$/)
      .optional(),
  })
  .openapi("PlaceOrder");

/** The body of `PATCH /api/v1/orders/{id}` (and of the socket's `order.amend`). */
export const AmendOrderSchema = z
  .strictObject({
    price: decimalAmount({ example: "64100.00" }).optional(),
    quantity: decimalAmount({ example: "0.4" })
      .optional()
      .openapi({ description: "The new total quantity, the filled part included" }),
  })
  .openapi("AmendOrder");
