import { z } from "@hono/zod-openapi";
import { decimalAmount } from "../../lib/money";

// The bodies of an order and an amendment, one schema each for every way in: the REST routes
// validate (and document) them, and the market socket's `order.place` / `order.amend` carry the
// same bodies, checked by the same schemas, so the same input is refused with the same code.

/** A market symbol, BASE-QUOTE. */
export const Symbol = z
  .string()
  .regex(/^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$/)
  .openapi({ example: "BTC-USDT" });

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
