import { formatTraceparent } from "../lib/trace-context";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { relayEventsAfterResponse } from "../http/after-response";
import { ErrorSchema, errorResponses } from "../http/openapi-schemas";
import { getDb, getRedis } from "../http/resources";
import { requestMetadata } from "../http/request-metadata";
import { createRouter } from "../http/router";
import { derivedUuid } from "../lib/derived-id";
import { authenticate, requireAdmin } from "../middleware/authenticate";
import { parseIdempotencyKey, runIdempotent } from "../services/idempotency";
import { amendOrder } from "../services/trading/amend-order";
import { cancelAllOrders, cancelOrder } from "../services/trading/cancel-order";
import { getOrder, listOrders, listTrades } from "../services/trading/order-queries";
import type { PlaceOrderRequest } from "../domain/market/placement";
import { placeOrder } from "../services/trading/place-order";
import { MAX_BATCH_ORDERS } from "../domain/market/order-limits";
import { placeOrderBatch } from "../services/trading/place-order-batch";
import { bearerSecurity, jsonReply } from "./user-schemas";
import { idempotencyKeyParameters } from "./wallet-schemas";
import { AmendOrderSchema, PlaceOrderSchema, Symbol } from "../domain/market/order-body";
import { FillSchema, MyTradeSchema, OrderSchema } from "./trading-schemas";
import { CursorPageQuery, cursorPage, pageResponses } from "../http/page-schemas";

const tags = ["Trading"];
const trade = authenticate({ permission: "trade" });
const read = authenticate({ permission: "read" });

const OrderIdParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

const PlaceResultSchema = z.object({
  order: OrderSchema,
  orders: z.array(OrderSchema).optional().openapi({ description: "oco only: [limit leg, stop leg]" }),
  fills: z.array(FillSchema),
});

const placeRoute = createRoute({
  method: "post",
  path: "/orders",
  tags,
  summary: "Place an order: its funds are locked first, then the market's order book matches it",
  security: bearerSecurity,
  middleware: [trade] as const,
  parameters: idempotencyKeyParameters,
  request: {
    body: { content: { "application/json": { schema: PlaceOrderSchema } }, required: true },
  },
  responses: {
    201: {
      description:
        "Accepted by the order book, with its immediate fills; an oco replies its limit leg as `order` and both legs in `orders`",
      content: {
        "application/json": {
          schema: PlaceResultSchema,
        },
      },
    },
    ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429, 503),
  },
});

/** SPEC's address for OCO orders: the same placement with `type` fixed to `oco`. */
const placeOcoRoute = createRoute({
  ...placeRoute,
  path: "/orders/oco",
  summary: "Place an OCO pair (a limit leg and a stop leg sharing one lock); `type` may be left out",
  request: {
    body: {
      content: {
        "application/json": { schema: PlaceOrderSchema.extend({ type: z.literal("oco").default("oco") }) },
      },
      required: true,
    },
  },
});

const placeBatchRoute = createRoute({
  method: "post",
  path: "/orders/batch",
  tags,
  summary: `Place up to ${MAX_BATCH_ORDERS} orders in one request, each on its own`,
  description:
    "The orders of one market reach its order book in one call and are locked and matched in " +
    "request order. A refused order is an `error` entry in its place and never fails the others. " +
    "With an Idempotency-Key, a retry names the same orders and places none twice.",
  security: bearerSecurity,
  middleware: [trade] as const,
  parameters: idempotencyKeyParameters,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z
            .strictObject({ orders: z.array(PlaceOrderSchema).min(1).max(MAX_BATCH_ORDERS) })
            .openapi("PlaceOrderBatch"),
        },
      },
      required: true,
    },
  },
  responses: {
    200: {
      description: "One result per order, in request order",
      content: {
        "application/json": {
          schema: z.object({
            results: z.array(
              z.union([
                PlaceResultSchema,
                z.object({ error: ErrorSchema.shape.error.omit({ request_id: true }) }),
              ]),
            ),
          }),
        },
      },
    },
    ...errorResponses(400, 401, 403, 409, 415, 422, 429, 503),
  },
});

/** What the routes on one order by id share: they answer the order. */
function oneOrder(reply: string, ...errors: Parameters<typeof errorResponses>) {
  return {
    tags,
    security: bearerSecurity,
    request: { params: OrderIdParam },
    responses: { 200: jsonReply(reply, z.object({ order: OrderSchema })), ...errorResponses(...errors) },
  };
}

const cancelRoute = createRoute({
  ...oneOrder("Cancelled", 400, 401, 403, 404, 409, 429),
  method: "delete",
  path: "/orders/{id}",
  summary: "Cancel one of my orders (another user's id is a 404)",
  middleware: [trade] as const,
});

const amendRoute = createRoute({
  method: "patch",
  path: "/orders/{id}",
  tags,
  summary:
    "Amend one of my open limit orders: new price and/or total quantity (a pure decrease keeps time priority)",
  description:
    "An amendment that may need more funds locks the difference first (422 INSUFFICIENT_FUNDS leaves the order " +
    "unchanged); one that needs less releases the difference once the book confirmed it. Another user's id is a " +
    "404; a closed order a 409 ORDER_NOT_OPEN; an OCO leg or a stop waiting for its trigger a 409 " +
    "ORDER_NOT_AMENDABLE; a halted market a 409 MARKET_HALTED; another amendment of the order in flight a 409 " +
    "AMEND_IN_PROGRESS.",
  security: bearerSecurity,
  middleware: [trade] as const,
  request: {
    params: OrderIdParam,
    body: { content: { "application/json": { schema: AmendOrderSchema } }, required: true },
  },
  responses: {
    200: {
      description: "Amended, with the fills it made at once (a price change may cross)",
      content: {
        "application/json": { schema: z.object({ order: OrderSchema, fills: z.array(FillSchema) }) },
      },
    },
    ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429, 503),
  },
});

const cancelAllRoute = createRoute({
  method: "delete",
  path: "/orders",
  tags,
  summary: "Cancel all my open orders in a market",
  security: bearerSecurity,
  middleware: [trade] as const,
  request: { query: z.object({ market: Symbol }) },
  responses: {
    200: {
      description: "Cancelled",
      content: { "application/json": { schema: z.object({ cancelled: z.array(z.string()) }) } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});

const getRoute = createRoute({
  ...oneOrder("The order", 400, 401, 403, 404, 429),
  method: "get",
  path: "/orders/{id}",
  summary: "One of my orders",
  middleware: [read] as const,
});

export const ListQuery = z.object({
  market: Symbol.optional(),
  state: z.enum(["open", "closed", "all"]).default("all"),
  cursor: z.string().max(64).optional(),
  limit: CursorPageQuery.limit,
});

/** A cursor listing of the caller's own rows (an admin's twin below reuses it for any user's). */
function myListing<K extends string, S extends z.ZodType, Q extends z.ZodObject>(
  path: string,
  summary: string,
  query: Q,
  key: K,
  item: S,
) {
  return createRoute({
    method: "get",
    path,
    tags,
    summary,
    security: bearerSecurity,
    middleware: [read] as const,
    request: { query },
    responses: pageResponses(`A page of ${key}`, cursorPage(key, item)),
  });
}

const listRoute = myListing(
  "/orders",
  "My orders, newest first: open, closed or all, by market, with cursor pagination",
  ListQuery,
  "orders",
  OrderSchema,
);

export const TradeQuery = z.object({
  market: Symbol.optional(),
  cursor: z.string().max(20).optional(),
  limit: CursorPageQuery.limit,
});

const tradesRoute = myListing(
  "/trades",
  "My trades, newest first, with cursor pagination",
  TradeQuery,
  "trades",
  MyTradeSchema,
);

/**
 * Runs a placement under the request's Idempotency-Key, if any. The key names the orders: the
 * first attempt's ids follow from (caller, key), so whatever fails after the book took an
 * order, a retry gets the same ids and the object answers with the first result.
 */
async function idempotentPlacement<T>(
  c: Context<AppEnv>,
  path: string,
  body: unknown,
  run: (orderId: (n: number) => string | undefined) => Promise<T>,
): Promise<{ body: T; replayed: boolean }> {
  const principal = c.get("principal");
  const key = parseIdempotencyKey(c.req.header("idempotency-key"), false);
  if (key === undefined) return { body: await run(() => undefined), replayed: false };
  const orderId = (n: number) => derivedUuid("order", principal.userId, key, String(n));
  const { response, replayed } = await runIdempotent(
    getRedis(c),
    { scope: "order", caller: principal.userId, key, request: { path, body } },
    async () => ({ status: 200, body: await run(orderId) }),
  );
  if (replayed) c.header("Idempotent-Replayed", "true");
  return { body: response.body, replayed };
}

/** Both single placement routes; settlement is the order book object's job. */
async function place(c: Context<AppEnv>, body: PlaceOrderRequest) {
  const { body: result } = await idempotentPlacement(c, "/orders", body, (orderId) =>
    placeOrder(
      getDb(c),
      c.env,
      c.get("principal"),
      body,
      requestMetadata(c),
      orderId(0),
      formatTraceparent(c.get("trace")),
    ),
  );
  return c.json(result, 201);
}

export const orderRoutes = createRouter()
  .openapi(placeRoute, (c) => place(c, c.req.valid("json")))
  .openapi(placeOcoRoute, (c) => place(c, c.req.valid("json")))
  .openapi(placeBatchRoute, async (c) => {
    const { orders } = c.req.valid("json");
    const { body } = await idempotentPlacement(c, "/orders/batch", orders, (orderId) =>
      placeOrderBatch(
        getDb(c),
        c.env,
        c.get("principal"),
        orders,
        requestMetadata(c),
        orders.map((_, i) => orderId(i)).filter((id): id is string => id !== undefined),
        formatTraceparent(c.get("trace")),
      ),
    );
    return c.json({ results: body }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const order = await cancelOrder(
      getDb(c),
      c.env,
      c.get("principal"),
      c.req.valid("param").id,
      requestMetadata(c),
    );
    relayEventsAfterResponse(c);
    return c.json({ order }, 200);
  })
  .openapi(amendRoute, async (c) => {
    const result = await amendOrder(
      getDb(c),
      c.env,
      c.get("principal"),
      c.req.valid("param").id,
      c.req.valid("json"),
      requestMetadata(c),
    );
    relayEventsAfterResponse(c);
    return c.json(result, 200);
  })
  .openapi(cancelAllRoute, async (c) => {
    const { market } = c.req.valid("query");
    const cancelled = await cancelAllOrders(getDb(c), c.env, c.get("principal"), market, requestMetadata(c));
    relayEventsAfterResponse(c);
    return c.json({ cancelled }, 200);
  })
  .openapi(getRoute, async (c) => {
    const order = await getOrder(getDb(c), c.get("principal").userId, c.req.valid("param").id);
    return c.json({ order }, 200);
  })
  .openapi(listRoute, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listOrders(getDb(c), { ...q, userId: c.get("principal").userId }), 200);
  })
  .openapi(tradesRoute, async (c) => {
    const q = c.req.valid("query");
    return c.json(await listTrades(getDb(c), { ...q, userId: c.get("principal").userId }), 200);
  });

/** The admin's reads are the caller's own, for any user. */
const asAdmin = { tags: ["Admin"], middleware: [authenticate(), requireAdmin] };

const adminOrdersRoute = createRoute({
  ...listRoute,
  ...asAdmin,
  path: "/admin/orders",
  summary: "Any user's orders (all users when user_id is omitted), newest first",
  request: { query: ListQuery.extend({ user_id: z.uuid().optional() }) },
});

const adminOrderRoute = createRoute({
  ...getRoute,
  ...asAdmin,
  path: "/admin/orders/{id}",
  summary: "Any order",
});

const adminTradesRoute = createRoute({
  ...tradesRoute,
  ...asAdmin,
  path: "/admin/trades",
  summary: "A user's trades, newest first",
  request: { query: TradeQuery.extend({ user_id: z.uuid() }) },
});

export const adminTradingRoutes = createRouter()
  .openapi(adminOrdersRoute, async (c) => {
    const { user_id, ...q } = c.req.valid("query");
    return c.json(await listOrders(getDb(c), { ...q, userId: user_id }), 200);
  })
  .openapi(adminOrderRoute, async (c) =>
    c.json({ order: await getOrder(getDb(c), null, c.req.valid("param").id) }, 200),
  )
  .openapi(adminTradesRoute, async (c) => {
    const { user_id, ...q } = c.req.valid("query");
    return c.json(await listTrades(getDb(c), { ...q, userId: user_id }), 200);
  });
