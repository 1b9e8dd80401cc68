import { callerOf } from "../caller";
import { binanceRoute } from "../openapi";
import {
  CancelOrderListParams,
  LegacyOcoParams,
  OrderListHistoryParams,
  OrderListOcoParams,
  OrderListRefParams,
  ocoFromLegacy,
  ocoFromOrderList,
} from "../order-list-params";
import {
  allOrderLists,
  cancelOrderList,
  openOrderListsOf,
  placeOrderList,
  queryOrderList,
} from "../order-lists";
import { SignedParams, binanceParams } from "../params";
import { createBinanceRouter } from "../binance-router";
import { relayEventsAfterResponse } from "../../http/after-response";

const OCO_DESCRIPTION =
  "Pandora's OCO: a GTC limit leg and a stop leg (STOP_LOSS, or STOP_LOSS_LIMIT with GTC) sharing one lock; the book cancels one leg when the other trades. `orderListId` is the limit leg's orderId, `listClientOrderId` the limit leg's clientOrderId.";

export const orderListRoutes = createBinanceRouter()
  .openapi(
    binanceRoute({
      method: "post",
      path: "/orderList/oco",
      summary: "Place an OCO order list (aboveType / belowType)",
      description: OCO_DESCRIPTION,
      params: OrderListOcoParams,
      weight: 1,
      signed: "trade",
      places: true,
    }),
    async (c) =>
      c.json(
        await placeOrderList(callerOf(c), ocoFromOrderList(await binanceParams(c, OrderListOcoParams))),
        200,
      ),
  )
  .openapi(
    binanceRoute({
      method: "post",
      path: "/order/oco",
      summary: "Place an OCO order list (Binance's deprecated form: price, stopPrice, stopLimitPrice)",
      description: OCO_DESCRIPTION,
      params: LegacyOcoParams,
      weight: 1,
      signed: "trade",
      places: true,
    }),
    async (c) =>
      c.json(await placeOrderList(callerOf(c), ocoFromLegacy(await binanceParams(c, LegacyOcoParams))), 200),
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/orderList",
      summary: "One of my order lists by orderListId or origClientOrderId",
      params: OrderListRefParams,
      weight: 4,
      signed: "read",
    }),
    async (c) => c.json(await queryOrderList(callerOf(c), await binanceParams(c, OrderListRefParams)), 200),
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/allOrderList",
      summary: "My order lists in every market (from `fromId` on, or the most recent)",
      params: OrderListHistoryParams,
      weight: 20,
      signed: "read",
    }),
    async (c) =>
      c.json(await allOrderLists(callerOf(c), await binanceParams(c, OrderListHistoryParams)), 200),
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/openOrderList",
      summary: "My order lists with a leg still open",
      params: SignedParams,
      weight: 6,
      signed: "read",
    }),
    async (c) => c.json(await openOrderListsOf(callerOf(c)), 200),
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/orderList",
      summary: "Cancel one of my order lists (both legs)",
      params: CancelOrderListParams,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const reply = await cancelOrderList(callerOf(c), await binanceParams(c, CancelOrderListParams));
      // The cancel settled the market in the request: its events are relayed after the reply.
      relayEventsAfterResponse(c);
      return c.json(reply, 200);
    },
  );
