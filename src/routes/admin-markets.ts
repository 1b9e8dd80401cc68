import { z } from "@hono/zod-openapi";
import { MAX_OPEN_ORDERS_CAP } from "../domain/market/market-rules";
import { getRedis } from "../http/resources";
import { createRouter } from "../http/router";
import { serviceContext } from "../services/auth/context";
import { createMarket, updateMarket } from "../services/market-admin";
import { invalidateMarketCaches } from "../services/markets";
import { MarketSchema, PercentPriceSchema, SymbolParam } from "./markets";
import { adminOnlyRoutes } from "./route-group";
import { jsonReply } from "./user-schemas";

const admin = adminOnlyRoutes(["Administration"]);
const Size = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "a decimal string such as 0.01")
  .openapi({ example: "0.01" });
const Fee = z.number().int().min(0).max(1000);
const Status = z.enum(["trading", "halted", "cancel-only"]);
const MaxOpenOrders = z.number().int().min(1).max(MAX_OPEN_ORDERS_CAP).nullable();
const AssetCode = z.string().regex(/^[A-Z0-9]{2,10}$/);

const createRouteDef = admin.post("/api/v1/admin/markets", {
  summary: "Create a market (sizes in the assets' units); its order book is configured at once",
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              symbol: SymbolParam.shape.symbol,
              base_asset: AssetCode,
              quote_asset: AssetCode,
              tick_size: Size,
              lot_size: Size,
              min_quantity: Size,
              max_quantity: Size,
              min_notional: Size,
              maker_fee_bps: Fee,
              taker_fee_bps: Fee,
              status: Status.default("trading"),
              percent_price: PercentPriceSchema.nullable().optional(),
              max_open_orders: MaxOpenOrders.optional(),
            })
            .strict(),
        },
      },
    },
  },
  reply: { 201: jsonReply("Created", z.object({ market: MarketSchema })) },
  errors: [400, 409, 422],
});

const patchRouteDef = admin.patch("/api/v1/admin/markets/{symbol}", {
  summary: "Change a market's status, fees, sizes, percent price filter or open-order cap",
  description:
    "Tick and lot sizes can change only while the book is empty (409 otherwise). `percent_price: null` turns the filter off; resting orders outside a new band stay. `max_open_orders` caps each account's live orders in the market (null: no cap); orders already live above a lowered cap stay.",
  request: {
    params: SymbolParam,
    body: {
      content: {
        "application/json": {
          schema: z
            .object({
              status: Status.optional(),
              maker_fee_bps: Fee.optional(),
              taker_fee_bps: Fee.optional(),
              tick_size: Size.optional(),
              lot_size: Size.optional(),
              min_quantity: Size.optional(),
              max_quantity: Size.optional(),
              min_notional: Size.optional(),
              percent_price: PercentPriceSchema.nullable().optional(),
              max_open_orders: MaxOpenOrders.optional(),
            })
            .strict()
            .refine((b) => Object.keys(b).length > 0, "change at least one field"),
        },
      },
    },
  },
  reply: { 200: jsonReply("Updated", z.object({ market: MarketSchema })) },
  errors: [400, 404, 409, 422],
});

const invalidateRouteDef = admin.post("/api/v1/admin/markets/{symbol}/cache/invalidate", {
  summary: "Drop the cached market list and this market's cached depth and ticker",
  request: { params: SymbolParam },
  reply: { 200: jsonReply("Dropped", z.object({ deleted: z.number().int() })) },
  errors: [400],
});

export const adminMarketRoutes = createRouter()
  .openapi(createRouteDef, async (c) => {
    const market = await createMarket(
      serviceContext(c),
      getRedis(c),
      c.get("principal").userId,
      c.req.valid("json"),
    );
    return c.json({ market }, 201);
  })
  .openapi(patchRouteDef, async (c) => {
    const { symbol } = c.req.valid("param");
    const market = await updateMarket(
      serviceContext(c),
      getRedis(c),
      c.get("principal").userId,
      symbol,
      c.req.valid("json"),
    );
    return c.json({ market }, 200);
  })
  .openapi(invalidateRouteDef, async (c) => {
    const deleted = await invalidateMarketCaches(getRedis(c), c.get("log"), c.req.valid("param").symbol);
    return c.json({ deleted }, 200);
  });
