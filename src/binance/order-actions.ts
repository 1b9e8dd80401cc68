// Binance's order endpoints as plain functions of parsed parameters: the REST routes
// (routes/trading.ts) and the WebSocket API call these, so both faces answer alike.
import { AppError, ErrorCode } from "../lib/errors";
import { formatUnits } from "../lib/money";
import { randomToken } from "../lib/secure-random";
import { cancelAllOrders, cancelOrder as cancelBookOrder } from "../services/trading/cancel-order";
import { loadMarketRules } from "../services/trading/market-directory";
import type { MarketRules } from "../domain/market/market-rules";
import { toOrderView, type OrderRow } from "../domain/market/order-view";
import { assertMayTrade, preparePlacement, type PlaceOrderRequest } from "../domain/market/placement";
import { placeOrder } from "../services/trading/place-order";
import type { BinanceCaller } from "./caller";
import { eitherMandatory, noSuchOrder, unknownOrderCancel } from "./binance-errors";
import { responseType, toPlaceOrder, type History, type NewOrder, type OrderRef } from "./order-params";
import {
  allOrders,
  findOrder,
  myTrades,
  openOrders,
  orderListIds,
  orderNumber,
  ordersById,
} from "./order-lookups";
import { binanceSymbol, marketRulesOf } from "./symbols";
import { binanceCancel, binanceFill, binanceOrder, bpsRate, noDiscount, quoteValue } from "./views";

/** Binance generates a client order id when none is sent; so do we, so every order has one. */
export const newClientOrderId = () => `pandora-${randomToken(12)}`.slice(0, 36);

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** Rows as GET /order answers them, each with its market's rules and its order list's id. */
export async function orderViews(caller: BinanceCaller, rows: OrderRow[]) {
  const rules = new Map<string, MarketRules>();
  for (const r of rows)
    if (!rules.has(r.market)) rules.set(r.market, await loadMarketRules(caller.db, r.market));
  const lists = await orderListIds(caller.db, rows);
  return rows.map((r) =>
    binanceOrder(toOrderView(r, rules.get(r.market)!), r.number, rules.get(r.market)!, listIdOf(lists, r)),
  );
}

export const listIdOf = (lists: Map<string, number>, row: OrderRow): number =>
  row.ocoGroupId ? (lists.get(row.ocoGroupId) ?? -1) : -1;

/** The one placement path (place-order.ts) for the caller. */
export const placeAs = (caller: BinanceCaller, req: PlaceOrderRequest) =>
  placeOrder(caller.db, caller.env, caller.principal, req, caller.metadata, undefined, caller.traceparent);

/** POST /order: the order through the one placement path (place-order.ts), answered as `newOrderRespType`. */
export async function newOrder(caller: BinanceCaller, p: NewOrder) {
  const rules = await marketRulesOf(caller.db, p.symbol);
  const req = toPlaceOrder(p, rules.symbol);
  req.client_order_id ??= newClientOrderId();
  const result = await placeAs(caller, req);
  const number = await orderNumber(caller.db, result.order.id);
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

export type NewOrderReply = Awaited<ReturnType<typeof newOrder>>;

/** POST /order/test: checked against the market's rules, not placed. */
export async function testOrder(caller: BinanceCaller, p: NewOrder & { computeCommissionRates?: string }) {
  const rules = await marketRulesOf(caller.db, p.symbol);
  assertMayTrade(caller.principal);
  preparePlacement(rules, caller.principal, toPlaceOrder(p, rules.symbol), caller.metadata);
  if (p.computeCommissionRates !== "true") return {};
  const zero = bpsRate(0);
  return {
    standardCommissionForOrder: { maker: bpsRate(rules.makerFeeBps), taker: bpsRate(rules.takerFeeBps) },
    taxCommissionForOrder: { maker: zero, taker: zero },
    discount: noDiscount(),
  };
}

/** The caller's order named by `orderId` or `origClientOrderId` (one of them is mandatory). */
export async function namedOrder(caller: BinanceCaller, q: OrderRef, rules: MarketRules) {
  if (q.orderId === undefined && q.origClientOrderId === undefined) {
    throw eitherMandatory("orderId", "origClientOrderId");
  }
  return findOrder(caller.db, caller.principal.userId, rules.symbol, {
    orderId: num(q.orderId),
    clientOrderId: q.origClientOrderId,
  });
}

/** GET /order (-2013 when the caller has no such order in the market). */
export async function queryOrder(caller: BinanceCaller, q: OrderRef) {
  const rules = await marketRulesOf(caller.db, q.symbol);
  const row = await namedOrder(caller, q, rules);
  if (!row) throw noSuchOrder();
  return (await orderViews(caller, [row]))[0]!;
}

/** The order could not be cancelled: unknown, or no longer open (-2011). */
export const cancelRefusal = (err: unknown) =>
  err instanceof AppError &&
  (err.code === ErrorCode.ORDER_NOT_FOUND ||
    err.code === ErrorCode.ORDER_NOT_OPEN ||
    err.code === ErrorCode.NOT_FOUND)
    ? unknownOrderCancel()
    : err;

/** Cancels one open order of the caller (an OCO leg takes its sibling along) and reads it back. */
export async function cancelRow(caller: BinanceCaller, row: OrderRow): Promise<OrderRow> {
  await cancelBookOrder(caller.db, caller.env, caller.principal, row.id, caller.metadata).catch(
    (err: unknown) => {
      throw cancelRefusal(err);
    },
  );
  const [after] = await ordersById(caller.db, [row.id]);
  return after!;
}

/**
 * Cancels one open order and answers as DELETE /order does; `cancelClientOrderId` is the
 * cancel's own id (generated when not given).
 */
export async function cancelAndReport(
  caller: BinanceCaller,
  row: OrderRow,
  rules: MarketRules,
  cancelClientOrderId?: string,
) {
  const after = await cancelRow(caller, row);
  const lists = await orderListIds(caller.db, [after]);
  return binanceCancel(
    toOrderView(after, rules),
    after.number,
    rules,
    cancelClientOrderId ?? newClientOrderId(),
    listIdOf(lists, after),
  );
}

/**
 * DELETE /order (-2011 when unknown or no longer open). The cancel settles the market in the
 * request, which records events: the caller relays them after answering (relayEventsAfterResponse).
 */
export async function cancelOrder(caller: BinanceCaller, q: OrderRef) {
  const rules = await marketRulesOf(caller.db, q.symbol);
  const row = await namedOrder(caller, q, rules);
  if (!row) throw unknownOrderCancel();
  return cancelAndReport(caller, row, rules, q.newClientOrderId);
}

/** GET /openOrders: in one market (`symbol`) or all. */
export async function openOrdersOf(caller: BinanceCaller, symbol?: string) {
  const market = symbol ? (await marketRulesOf(caller.db, symbol)).symbol : undefined;
  return orderViews(caller, await openOrders(caller.db, caller.principal.userId, market));
}

/** Cancels every open order of the caller in a market (-2011 when there is none); the rows after. */
export async function cancelOpenRows(caller: BinanceCaller, symbol: string): Promise<OrderRow[]> {
  const rules = await marketRulesOf(caller.db, symbol);
  const ids = await cancelAllOrders(
    caller.db,
    caller.env,
    caller.principal,
    rules.symbol,
    caller.metadata,
  ).catch((err: unknown) => {
    throw cancelRefusal(err);
  });
  if (ids.length === 0) throw unknownOrderCancel();
  return ordersById(caller.db, ids);
}

/** GET /allOrders: from `orderId` on, or the most recent; oldest first. */
export async function allOrdersOf(caller: BinanceCaller, q: History) {
  const rules = await marketRulesOf(caller.db, q.symbol);
  const rows = await allOrders(caller.db, {
    userId: caller.principal.userId,
    market: rules.symbol,
    orderId: num(q.orderId),
    startTime: num(q.startTime),
    endTime: num(q.endTime),
    limit: Number(q.limit ?? 500),
  });
  return orderViews(caller, rows);
}

/** GET /myTrades: by `orderId`, from `fromId`, or the most recent. */
export async function myTradesOf(caller: BinanceCaller, q: History) {
  const rules = await marketRulesOf(caller.db, q.symbol);
  return myTrades(caller.db, rules, {
    userId: caller.principal.userId,
    market: rules.symbol,
    orderId: num(q.orderId),
    fromId: num(q.fromId),
    startTime: num(q.startTime),
    endTime: num(q.endTime),
    limit: Number(q.limit ?? 500),
  });
}
