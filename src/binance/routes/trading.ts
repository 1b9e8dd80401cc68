import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/app-env";
import { relayEventsAfterResponse } from "../../http/after-response";
import { callerOf } from "../caller";
import { CancelReplaceParams, cancelReplace } from "../cancel-replace";
import { binanceRoute } from "../openapi";
import { allOrdersOf, cancelOrder, newOrder, openOrdersOf, queryOrder, testOrder } from "../order-actions";
import { cancelOpenOrders } from "../order-lists";
import { HistoryParams, NewOrderParams, OrderRefParams } from "../order-params";
import { P, SignedParams, binanceParams } from "../params";
import { createBinanceRouter } from "../binance-router";

const SymbolOnly = z.object({ symbol: P.symbol }).extend(SignedParams.shape);
const OptionalSymbol = z.object({ symbol: P.symbol.optional() }).extend(SignedParams.shape);
const TestOrderParams = NewOrderParams.extend({
  computeCommissionRates: z.enum(["true", "false"]).optional(),
});

/**
 * A cancel settles the market in the request (cancel-order.ts), which records events in the
 * outbox: they are relayed after the reply, as /api/v1's cancels do. Placements need no relay:
 * the market's object records and relays their events itself.
 */
const relayCancelEvents = (c: Context<AppEnv>) => relayEventsAfterResponse(c);

export const tradingRoutes = createBinanceRouter()
  .openapi(
    binanceRoute({
      method: "post",
      path: "/order",
      summary:
        "Place an order (LIMIT, LIMIT_MAKER, MARKET by quantity or quoteOrderQty, STOP_LOSS, STOP_LOSS_LIMIT)",
      description:
        "The same placement path as POST /api/v1/orders: market rules, funds locked by the market's order book, matched there. `orderId` is the order's integer number.",
      params: NewOrderParams,
      weight: 1,
      signed: "trade",
      places: true,
    }),
    async (c) => c.json(await newOrder(callerOf(c), await binanceParams(c, NewOrderParams)), 200),
  )
  .openapi(
    binanceRoute({
      method: "post",
      path: "/order/test",
      summary: "Check an order against the market's rules without placing it",
      params: TestOrderParams,
      weight: (q) => (q.computeCommissionRates === "true" ? 20 : 1),
      signed: "trade",
    }),
    async (c) => c.json(await testOrder(callerOf(c), await binanceParams(c, TestOrderParams)), 200),
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/order",
      summary: "One of my orders by orderId or origClientOrderId",
      params: OrderRefParams,
      weight: 4,
      signed: "read",
    }),
    async (c) => c.json(await queryOrder(callerOf(c), await binanceParams(c, OrderRefParams)), 200),
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/order",
      summary: "Cancel one of my orders by orderId or origClientOrderId (an OCO leg cancels its list)",
      params: OrderRefParams,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const reply = await cancelOrder(callerOf(c), await binanceParams(c, OrderRefParams));
      relayCancelEvents(c);
      return c.json(reply, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "post",
      path: "/order/cancelReplace",
      summary: "Cancel an order and place a new one (cancelReplaceMode STOP_ON_FAILURE or ALLOW_FAILURE)",
      description:
        "Two steps, not atomic: the cancel, then the placement through the same path as POST /order. One step failing is 409 with -2021, both 400 with -2022, with Binance's `data`.",
      params: CancelReplaceParams,
      weight: 1,
      signed: "trade",
      places: true,
    }),
    async (c) => {
      const p = await binanceParams(c, CancelReplaceParams);
      try {
        return c.json(await cancelReplace(callerOf(c), p), 200);
      } finally {
        relayCancelEvents(c);
      }
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/openOrders",
      summary: "My open orders in one market (`symbol`) or all",
      params: OptionalSymbol,
      weight: (q) => (q.symbol ? 6 : 80),
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, OptionalSymbol);
      return c.json(await openOrdersOf(callerOf(c), q.symbol), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/openOrders",
      summary: "Cancel all my open orders in a market (an OCO answered as its order list)",
      params: SymbolOnly,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const q = await binanceParams(c, SymbolOnly);
      const reply = await cancelOpenOrders(callerOf(c), q.symbol);
      relayCancelEvents(c);
      return c.json(reply, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/allOrders",
      summary: "My orders in a market, open and closed (from `orderId` on, or the most recent)",
      params: HistoryParams,
      weight: 20,
      signed: "read",
    }),
    async (c) => c.json(await allOrdersOf(callerOf(c), await binanceParams(c, HistoryParams)), 200),
  );
