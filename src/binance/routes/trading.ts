import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../../http/app-env";
import { relayEventsAfterResponse } from "../../http/after-response";
import { getDb } from "../../http/resources";
import { requestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode } from "../../lib/errors";
import { formatUnits } from "../../lib/money";
import { cancelAllOrders, cancelOrder } from "../../services/trading/cancel-order";
import { loadMarketRules } from "../../services/trading/market-directory";
import type { MarketRules } from "../../services/trading/market-rules";
import { assertMayTrade, placeOrder, preparePlacement } from "../../services/trading/place-order";
import { toOrderView, type OrderRow } from "../../services/trading/order-view";
import { randomToken } from "../../lib/secure-random";
import { eitherMandatory, noSuchOrder, unknownOrderCancel } from "../errors";
import { binanceRoute } from "../openapi";
import { ClientOrderId, NewOrderParams, responseType, toPlaceOrder, type NewOrder } from "../order-params";
import { allOrders, findOrder, openOrders, orderNumber, ordersById } from "../order-queries";
import { P, SignedParams, binanceParams } from "../params";
import { createBinanceRouter } from "../router";
import { binanceSymbol, marketRulesOf } from "../symbols";
import { binanceFill, binanceOrder, bpsRate, quoteValue } from "../views";

type Ctx = Context<AppEnv>;

const OrderRef = z
  .object({
    symbol: P.symbol,
    orderId: P.int.optional(),
    origClientOrderId: ClientOrderId.optional(),
    newClientOrderId: ClientOrderId.optional(),
  })
  .extend(SignedParams.shape);

const SymbolOnly = z.object({ symbol: P.symbol }).extend(SignedParams.shape);
const OptionalSymbol = z.object({ symbol: P.symbol.optional() }).extend(SignedParams.shape);
export const History = z
  .object({
    symbol: P.symbol,
    orderId: P.int.optional(),
    fromId: P.int.optional(),
    startTime: P.int.optional(),
    endTime: P.int.optional(),
    limit: P.limit(1000).optional(),
  })
  .extend(SignedParams.shape);

/** Binance generates a client order id when none is sent; so do we, so every order has one. */
const newClientOrderId = () => `pandora-${randomToken(12)}`.slice(0, 36);

const view = (row: OrderRow, rules: MarketRules) => binanceOrder(toOrderView(row, rules), row.number, rules);

/** POST /order and /order/test: the order through the one placement path (place-order.ts). */
async function newOrder(c: Ctx, p: NewOrder, rules: MarketRules) {
  const req = toPlaceOrder(p, rules.symbol);
  req.client_order_id ??= newClientOrderId();
  const principal = c.get("principal");
  const result = await placeOrder(getDb(c), c.env, principal, req, requestMetadata(c));
  const number = await orderNumber(getDb(c), result.order.id);
  const transactTime = Date.now();
  const ack = {
    symbol: binanceSymbol(rules.symbol),
    orderId: number,
    orderListId: -1,
    clientOrderId: result.order.client_order_id ?? "",
    transactTime,
  };
  const type = responseType(p);
  if (type === "ACK") return ack;
  const filledQuote = result.fills.reduce((s, f) => s + quoteValue(rules, f.price, f.quantity), 0n);
  const order = binanceOrder(
    { ...result.order, filled_quote: formatUnits(filledQuote, rules.quoteDecimals) },
    number,
    rules,
  );
  const { stopPrice: _s, icebergQty: _i, time: _t, updateTime: _u, isWorking: _w, ...rest } = order;
  const reply = { ...ack, ...rest, symbol: ack.symbol, workingTime: transactTime };
  return type === "RESULT" ? reply : { ...reply, fills: result.fills.map(binanceFill) };
}

/** An order named by `orderId` or `origClientOrderId` (one of them is mandatory). */
async function namedOrder(c: Ctx, q: z.infer<typeof OrderRef>, rules: MarketRules): Promise<OrderRow | null> {
  if (q.orderId === undefined && q.origClientOrderId === undefined) {
    throw eitherMandatory("orderId", "origClientOrderId");
  }
  return findOrder(getDb(c), c.get("principal").userId, rules.symbol, {
    orderId: q.orderId === undefined ? undefined : Number(q.orderId),
    clientOrderId: q.origClientOrderId,
  });
}

/** A cancelled order as DELETE /order answers it. */
function cancelReply(row: OrderRow, rules: MarketRules, cancelId: string | undefined) {
  const o = view(row, rules);
  const { time: _t, updateTime: _u, isWorking: _w, workingTime: _wt, origQuoteOrderQty: _q, ...rest } = o;
  return {
    ...rest,
    origClientOrderId: o.clientOrderId,
    clientOrderId: cancelId ?? newClientOrderId(),
    transactTime: Date.now(),
  };
}

/** The order could not be cancelled: unknown, or no longer open. */
const cancelRefusal = (err: unknown) =>
  err instanceof AppError &&
  (err.code === ErrorCode.ORDER_NOT_FOUND ||
    err.code === ErrorCode.ORDER_NOT_OPEN ||
    err.code === ErrorCode.NOT_FOUND)
    ? unknownOrderCancel()
    : err;

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
    }),
    async (c) => {
      const p = await binanceParams(c, NewOrderParams);
      const rules = await marketRulesOf(getDb(c), p.symbol);
      const reply = await newOrder(c, p, rules);
      relayEventsAfterResponse(c);
      return c.json(reply, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "post",
      path: "/order/test",
      summary: "Check an order against the market's rules without placing it",
      params: NewOrderParams,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const p = await binanceParams(c, NewOrderParams);
      const rules = await marketRulesOf(getDb(c), p.symbol);
      const principal = c.get("principal");
      assertMayTrade(principal);
      preparePlacement(rules, principal, toPlaceOrder(p, rules.symbol), requestMetadata(c));
      if (p.computeCommissionRates !== "true") return c.json({}, 200);
      const zero = bpsRate(0);
      return c.json(
        {
          standardCommissionForOrder: {
            maker: bpsRate(rules.makerFeeBps),
            taker: bpsRate(rules.takerFeeBps),
          },
          taxCommissionForOrder: { maker: zero, taker: zero },
          discount: {
            enabledForAccount: false,
            enabledForSymbol: false,
            discountAsset: "BNB",
            discount: zero,
          },
        },
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/order",
      summary: "One of my orders by orderId or origClientOrderId",
      params: OrderRef,
      weight: 4,
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, OrderRef);
      const rules = await marketRulesOf(getDb(c), q.symbol);
      const row = await namedOrder(c, q, rules);
      if (!row) throw noSuchOrder();
      return c.json(view(row, rules), 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/order",
      summary: "Cancel one of my orders by orderId or origClientOrderId",
      params: OrderRef,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const q = await binanceParams(c, OrderRef);
      const db = getDb(c);
      const rules = await marketRulesOf(db, q.symbol);
      const row = await namedOrder(c, q, rules);
      if (!row) throw unknownOrderCancel();
      await cancelOrder(db, c.env, c.get("principal"), row.id, requestMetadata(c)).catch((err: unknown) => {
        throw cancelRefusal(err);
      });
      relayEventsAfterResponse(c);
      const [after] = await ordersById(db, [row.id]);
      return c.json(cancelReply(after!, rules, q.newClientOrderId), 200);
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
      const db = getDb(c);
      const market = q.symbol ? (await marketRulesOf(db, q.symbol)).symbol : undefined;
      const rows = await openOrders(db, c.get("principal").userId, market);
      const rules = new Map<string, MarketRules>();
      for (const r of rows)
        if (!rules.has(r.market)) rules.set(r.market, await loadMarketRules(db, r.market));
      return c.json(
        rows.map((r) => view(r, rules.get(r.market)!)),
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/openOrders",
      summary: "Cancel all my open orders in a market",
      params: SymbolOnly,
      weight: 1,
      signed: "trade",
    }),
    async (c) => {
      const q = await binanceParams(c, SymbolOnly);
      const db = getDb(c);
      const rules = await marketRulesOf(db, q.symbol);
      const ids = await cancelAllOrders(
        db,
        c.env,
        c.get("principal"),
        rules.symbol,
        requestMetadata(c),
      ).catch((err: unknown) => {
        throw cancelRefusal(err);
      });
      if (ids.length === 0) throw unknownOrderCancel();
      relayEventsAfterResponse(c);
      const rows = await ordersById(db, ids);
      return c.json(
        rows.map((r) => cancelReply(r, rules, undefined)),
        200,
      );
    },
  )
  .openapi(
    binanceRoute({
      method: "get",
      path: "/allOrders",
      summary: "My orders in a market, open and closed (from `orderId` on, or the most recent)",
      params: History,
      weight: 20,
      signed: "read",
    }),
    async (c) => {
      const q = await binanceParams(c, History);
      const db = getDb(c);
      const rules = await marketRulesOf(db, q.symbol);
      const rows = await allOrders(db, {
        userId: c.get("principal").userId,
        market: rules.symbol,
        orderId: q.orderId === undefined ? undefined : Number(q.orderId),
        startTime: q.startTime === undefined ? undefined : Number(q.startTime),
        endTime: q.endTime === undefined ? undefined : Number(q.endTime),
        limit: Number(q.limit ?? 500),
      });
      return c.json(
        rows.map((r) => view(r, rules)),
        200,
      );
    },
  );
