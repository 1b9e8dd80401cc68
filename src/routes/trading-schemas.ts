import { z } from "@hono/zod-openapi";

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
