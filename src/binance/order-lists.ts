// Binance's OCO order lists over Pandora's OCO (a limit leg and a stop leg sharing one lock,
// place-order.ts): plain functions of parsed parameters for the REST routes and the WebSocket API.
import type { z } from "@hono/zod-openapi";
import type { MarketRules } from "../domain/market/market-rules";
import { toOrderView, type FillView, type OrderRow, type OrderView } from "../domain/market/order-view";
import { loadMarketRules } from "../services/trading/market-directory";
import type { BinanceCaller } from "./caller";
import { BinanceError, eitherMandatory, unknownOrderCancel } from "./binance-errors";
import { cancelOpenRows, cancelRow, newClientOrderId, placeAs } from "./order-actions";
import type {
  CancelOrderListParams,
  OcoRequest,
  OrderListHistoryParams,
  OrderListRefParams,
} from "./order-list-params";
import { orderCommon } from "./order-params";
import { findOrderList, numbersOf, openOrderLists, orderListHistory, orderListLegs } from "./order-lookups";
import { binanceSymbol, marketRulesOf } from "./symbols";
import { binanceCancel, binanceFill, binanceOrder } from "./views";

const FINAL = new Set(["filled", "cancelled", "expired", "rejected"]);

/** The legs as Binance lists them: the stop leg first, then the limit leg (the list's head). */
const stopFirst = <T extends { id: string }>(legs: T[], headId: string) =>
  [...legs].sort((a, b) => (a.id === headId ? 1 : 0) - (b.id === headId ? 1 : 0));

/** An order list's own fields (GET /orderList), from its legs' states. */
function listFields(
  rules: MarketRules,
  listId: number,
  legs: { id: string; number: number; status: string; clientOrderId: string }[],
  headId: string,
  transactionTime: number,
) {
  const done = legs.every((l) => FINAL.has(l.status));
  const rejected = legs.every((l) => l.status === "rejected");
  const symbol = binanceSymbol(rules.symbol);
  return {
    orderListId: listId,
    contingencyType: "OCO",
    listStatusType: done ? "ALL_DONE" : "EXEC_STARTED",
    listOrderStatus: rejected ? "REJECT" : done ? "ALL_DONE" : "EXECUTING",
    listClientOrderId: legs.find((l) => l.id === headId)?.clientOrderId ?? "",
    transactionTime,
    symbol,
    orders: stopFirst(legs, headId).map((l) => ({
      symbol,
      orderId: l.number,
      clientOrderId: l.clientOrderId,
    })),
  };
}

const legOf = (r: OrderRow) => ({
  id: r.id,
  number: r.number,
  status: r.status,
  clientOrderId: r.clientOrderId ?? "",
});

/** A stored OCO as GET /orderList, /allOrderList and /openOrderList answer it. */
export function binanceOrderList(legs: OrderRow[], rules: MarketRules) {
  const head = legs.find((l) => l.id === l.ocoGroupId) ?? legs[0]!;
  return listFields(
    rules,
    head.number,
    legs.map(legOf),
    head.id,
    Math.max(...legs.map((l) => l.updatedAt.getTime())),
  );
}

/**
 * The user data stream's `listStatus` of an OCO: `EXEC_STARTED` when it is placed, `ALL_DONE`
 * (`REJECT` when both legs were rejected) once both legs have ended.
 */
export function listStatusEvent(legs: OrderRow[], rules: MarketRules, now: number, started = false) {
  const l = binanceOrderList(legs, rules);
  return {
    e: "listStatus",
    E: now,
    s: l.symbol,
    g: l.orderListId,
    c: "OCO",
    l: started ? "EXEC_STARTED" : l.listStatusType,
    L: started ? "EXECUTING" : l.listOrderStatus,
    r: "NONE",
    C: l.listClientOrderId,
    T: l.transactionTime,
    O: l.orders.map((o) => ({ s: o.symbol, i: o.orderId, c: o.clientOrderId })),
  };
}

/** A cancelled OCO as DELETE /orderList (and DELETE /openOrders) answer it: the list and both legs' cancel. */
export function binanceListCancel(legs: OrderRow[], rules: MarketRules, cancelClientOrderId?: string) {
  const list = binanceOrderList(legs, rules);
  const head = legs.find((l) => l.id === l.ocoGroupId) ?? legs[0]!;
  return {
    ...list,
    transactionTime: Date.now(),
    orderReports: stopFirst(legs, head.id).map((l) =>
      binanceCancel(
        toOrderView(l, rules),
        l.number,
        rules,
        cancelClientOrderId ?? newClientOrderId(),
        list.orderListId,
      ),
    ),
  };
}

/**
 * POST /orderList/oco and /order/oco: the pair through the one placement path (place-order.ts,
 * `type: "oco"`), answered as Binance's order list with a report per leg (`newOrderRespType`).
 */
export async function placeOrderList(caller: BinanceCaller, o: OcoRequest) {
  const rules = await marketRulesOf(caller.db, o.symbol);
  const req = {
    ...orderCommon(rules.symbol, o.side, o.selfTradePreventionMode),
    type: "oco" as const,
    quantity: o.quantity,
    price: o.price,
    stop_price: o.stopPrice,
    ...(o.stopLimitPrice !== undefined ? { stop_limit_price: o.stopLimitPrice } : {}),
    client_order_id: o.clientOrderId ?? newClientOrderId(),
  };
  const result = await placeAs(caller, req);
  const views = result.orders ?? [result.order];
  const numbers = await numbersOf(
    caller.db,
    views.map((v) => v.id),
  );
  const head = result.order.id;
  const listId = numbers.get(head)!;
  const transactTime = Date.now();
  const list = listFields(
    rules,
    listId,
    views.map((v) => ({
      id: v.id,
      number: numbers.get(v.id)!,
      status: v.status,
      clientOrderId: v.client_order_id ?? "",
    })),
    head,
    transactTime,
  );
  const type = o.newOrderRespType ?? "FULL";
  return {
    ...list,
    orderReports: stopFirst(views, head).map((v) =>
      legReport(v, numbers.get(v.id)!, rules, listId, transactTime, type, result.fills),
    ),
  };
}

/** One leg's report in a placement reply, as `newOrderRespType` asks. */
function legReport(
  v: OrderView,
  number: number,
  rules: MarketRules,
  listId: number,
  transactTime: number,
  type: "ACK" | "RESULT" | "FULL",
  fills: FillView[],
) {
  const symbol = binanceSymbol(rules.symbol);
  const ack = {
    symbol,
    orderId: number,
    orderListId: listId,
    clientOrderId: v.client_order_id ?? "",
    transactTime,
  };
  if (type === "ACK") return ack;
  const { time: _t, updateTime: _u, isWorking: _w, ...order } = binanceOrder(v, number, rules, listId);
  const report = { ...order, ...ack, workingTime: transactTime };
  return type === "RESULT"
    ? report
    : { ...report, fills: fills.filter((f) => f.order_id === v.id).map(binanceFill) };
}

const noSuchList = () => new BinanceError(400, -2013, "Order list does not exist.");

async function rulesOfList(caller: BinanceCaller, legs: OrderRow[]) {
  return loadMarketRules(caller.db, legs[0]!.market);
}

/** GET /orderList (-2013 when the caller has no such list). */
export async function queryOrderList(caller: BinanceCaller, q: z.infer<typeof OrderListRefParams>) {
  if (q.orderListId === undefined && q.origClientOrderId === undefined) {
    throw eitherMandatory("orderListId", "origClientOrderId");
  }
  const legs = await findOrderList(caller.db, caller.principal.userId, {
    listId: q.orderListId === undefined ? undefined : Number(q.orderListId),
    clientOrderId: q.origClientOrderId,
  });
  if (!legs) throw noSuchList();
  return binanceOrderList(legs, await rulesOfList(caller, legs));
}

/** Lists with their markets' rules, as Binance answers them. */
async function listsView(caller: BinanceCaller, lists: OrderRow[][]) {
  return Promise.all(lists.map(async (legs) => binanceOrderList(legs, await rulesOfList(caller, legs))));
}

/** GET /allOrderList: the caller's lists in every market, from `fromId` on or the most recent. */
export async function allOrderLists(caller: BinanceCaller, q: z.infer<typeof OrderListHistoryParams>) {
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return listsView(
    caller,
    await orderListHistory(caller.db, {
      userId: caller.principal.userId,
      fromId: num(q.fromId),
      startTime: num(q.startTime),
      endTime: num(q.endTime),
      limit: Number(q.limit ?? 500),
    }),
  );
}

/** GET /openOrderList: the caller's lists with a leg still open. */
export async function openOrderListsOf(caller: BinanceCaller) {
  return listsView(caller, await openOrderLists(caller.db, caller.principal.userId));
}

/**
 * DELETE /orderList: cancels both legs (cancelling one leg cancels the pair in the book); -2011
 * when the list is unknown or already done. The caller relays the cancel's events after answering.
 */
export async function cancelOrderList(caller: BinanceCaller, q: z.infer<typeof CancelOrderListParams>) {
  if (q.orderListId === undefined && q.listClientOrderId === undefined) {
    throw eitherMandatory("orderListId", "listClientOrderId");
  }
  const rules = await marketRulesOf(caller.db, q.symbol);
  const legs = await findOrderList(caller.db, caller.principal.userId, {
    market: rules.symbol,
    listId: q.orderListId === undefined ? undefined : Number(q.orderListId),
    clientOrderId: q.listClientOrderId,
  });
  if (!legs) throw unknownOrderCancel();
  const open = legs.find((l) => !FINAL.has(l.status));
  if (!open) throw unknownOrderCancel();
  await cancelRow(caller, open);
  const after = await findOrderList(caller.db, caller.principal.userId, {
    listId: binanceOrderList(legs, rules).orderListId,
  });
  return binanceListCancel(after!, rules, q.newClientOrderId);
}

/**
 * DELETE /openOrders: every open order of the caller in a market, single orders answered as
 * DELETE /order answers them, OCOs as DELETE /orderList does (-2011 when none is open).
 */
export async function cancelOpenOrders(caller: BinanceCaller, symbol: string) {
  const rows = await cancelOpenRows(caller, symbol);
  const rules = await loadMarketRules(caller.db, rows[0]!.market);
  const groups = [...new Set(rows.map((r) => r.ocoGroupId).filter((g): g is string => g !== null))];
  return [
    ...rows
      .filter((r) => r.ocoGroupId === null)
      .map((r) => binanceCancel(toOrderView(r, rules), r.number, rules, newClientOrderId())),
    ...(await orderListLegs(caller.db, groups)).map((legs) => binanceListCancel(legs, rules)),
  ];
}
