import { and, asc, desc, eq, gte, inArray, isNotNull, lte, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database } from "../db/client";
import { orders, trades } from "../db/schema";
import { formatUnits } from "../lib/money";
import type { MarketRules } from "../domain/market/market-rules";
import type { OrderRow } from "../domain/market/order-view";
import { binanceSymbol } from "./symbols";
import { tradeNumber } from "./views";

const OPEN = ["pending", "new", "partially_filled"] as const;

/** A trade's integer id ("BTC-USDT:42" is 42) in SQL. */
export const tradeNumberSql = () => sql<number>`split_part(${trades.tradeId}, ':', 2)::bigint`;

/** Postgres' integer name of an order, written with the row (migration 0010). */
export async function orderNumber(db: Database, orderId: string): Promise<number> {
  const [row] = await db.select({ number: orders.number }).from(orders).where(eq(orders.id, orderId));
  if (!row) throw new Error(`order ${orderId} has no row`);
  return row.number;
}

/** One of the caller's orders in a market, by Binance's `orderId` or `origClientOrderId`. */
export async function findOrder(
  db: Database,
  userId: string,
  market: string,
  by: { orderId?: number; clientOrderId?: string },
): Promise<OrderRow | null> {
  const [row] = await db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.userId, userId),
        eq(orders.market, market),
        by.orderId !== undefined
          ? eq(orders.number, by.orderId)
          : eq(orders.clientOrderId, by.clientOrderId ?? ""),
        // Both given: Binance requires them to name the same order.
        by.orderId !== undefined && by.clientOrderId !== undefined
          ? eq(orders.clientOrderId, by.clientOrderId)
          : undefined,
      ),
    );
  return row ?? null;
}

export async function openOrders(db: Database, userId: string, market?: string): Promise<OrderRow[]> {
  return db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.userId, userId),
        market ? eq(orders.market, market) : undefined,
        inArray(orders.status, [...OPEN]),
      ),
    )
    .orderBy(asc(orders.number));
}

/**
 * The integer `orderListId` of each OCO among `rows`, by the pair's group id: the number of its
 * limit leg (whose own id is the group's). Orders outside a list are -1.
 */
export async function orderListIds(db: Database, rows: OrderRow[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const r of rows) if (r.ocoGroupId === r.id) ids.set(r.id, r.number);
  const missing = [...new Set(rows.map((r) => r.ocoGroupId).filter((g): g is string => !!g && !ids.has(g)))];
  if (missing.length > 0) {
    const found = await db
      .select({ id: orders.id, number: orders.number })
      .from(orders)
      .where(inArray(orders.id, missing));
    for (const f of found) ids.set(f.id, f.number);
  }
  return ids;
}

export async function ordersById(db: Database, ids: string[]): Promise<OrderRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(orders).where(inArray(orders.id, ids)).orderBy(asc(orders.number));
}

export interface HistoryQuery {
  userId: string;
  market: string;
  /** allOrders: orders from this orderId on; myTrades: the trades of this order. */
  orderId?: number;
  /** myTrades: trades from this trade id on. */
  fromId?: number;
  startTime?: number;
  endTime?: number;
  limit: number;
}

/** Orders from `from` (a number) on, oldest first; else the most recent, newest first; in a time range. */
function orderPage(q: { from?: number; startTime?: number; endTime?: number }) {
  return {
    where: [
      q.from !== undefined ? gte(orders.number, q.from) : undefined,
      q.startTime !== undefined ? gte(orders.createdAt, new Date(q.startTime)) : undefined,
      q.endTime !== undefined ? lte(orders.createdAt, new Date(q.endTime)) : undefined,
    ],
    order: q.from !== undefined ? asc(orders.number) : desc(orders.number),
  };
}

/**
 * GET /allOrders: with `orderId` the orders from it on, otherwise the most recent ones; oldest
 * first either way, as Binance answers.
 */
export async function allOrders(db: Database, q: HistoryQuery): Promise<OrderRow[]> {
  const page = orderPage({ ...q, from: q.orderId });
  const rows = await db
    .select()
    .from(orders)
    .where(and(eq(orders.userId, q.userId), eq(orders.market, q.market), ...page.where))
    .orderBy(page.order)
    .limit(q.limit);
  return q.orderId !== undefined ? rows : rows.reverse();
}

/** GET /myTrades: the caller's fills in a market, each side they were on (a self-trade twice). */
export async function myTrades(db: Database, rules: MarketRules, q: HistoryQuery) {
  const buy = alias(orders, "buy_order");
  const sell = alias(orders, "sell_order");
  const number = tradeNumberSql();
  const mine: SQL[] = [eq(trades.buyerId, q.userId), eq(trades.sellerId, q.userId)];
  const newestFirst = q.fromId === undefined && q.orderId === undefined;
  const rows = await db
    .select({ trade: trades, buyNumber: buy.number, sellNumber: sell.number })
    .from(trades)
    .innerJoin(buy, eq(buy.id, trades.buyOrderId))
    .innerJoin(sell, eq(sell.id, trades.sellOrderId))
    .where(
      and(
        eq(trades.market, q.market),
        or(...mine),
        q.orderId !== undefined
          ? or(
              and(eq(buy.number, q.orderId), eq(buy.userId, q.userId)),
              and(eq(sell.number, q.orderId), eq(sell.userId, q.userId)),
            )
          : undefined,
        q.fromId !== undefined ? gte(number, q.fromId) : undefined,
        q.startTime !== undefined ? gte(trades.executedAt, new Date(q.startTime)) : undefined,
        q.endTime !== undefined ? lte(trades.executedAt, new Date(q.endTime)) : undefined,
      ),
    )
    .orderBy(newestFirst ? desc(trades.id) : asc(trades.id))
    .limit(q.limit);
  if (newestFirst) rows.reverse();
  const base = (v: bigint) => formatUnits(v, rules.baseDecimals);
  const quote = (v: bigint) => formatUnits(v, rules.quoteDecimals);
  return rows.flatMap(({ trade: t, buyNumber, sellNumber }) => {
    const sides: ("buy" | "sell")[] = [];
    if (t.buyerId === q.userId && (q.orderId === undefined || buyNumber === q.orderId)) sides.push("buy");
    if (t.sellerId === q.userId && (q.orderId === undefined || sellNumber === q.orderId)) sides.push("sell");
    return sides.map((side) => ({
      symbol: binanceSymbol(t.market),
      id: tradeNumber(t.tradeId),
      orderId: side === "buy" ? buyNumber : sellNumber,
      orderListId: -1,
      price: quote(t.price),
      qty: base(t.quantity),
      quoteQty: quote(t.quoteAmount),
      commission: side === "buy" ? base(t.buyerFee) : quote(t.sellerFee),
      commissionAsset: side === "buy" ? rules.baseAsset : rules.quoteAsset,
      time: t.executedAt.getTime(),
      isBuyer: side === "buy",
      isMaker: t.takerSide !== side,
      isBestMatch: true,
    }));
  });
}

/** The integer numbers of orders by id. */
export async function numbersOf(db: Database, ids: string[]): Promise<Map<string, number>> {
  const rows = await db
    .select({ id: orders.id, number: orders.number })
    .from(orders)
    .where(inArray(orders.id, ids));
  return new Map(rows.map((r) => [r.id, r.number]));
}

/** Both legs of each of these OCOs (by group id), oldest list first, its legs in id order. */
export async function orderListLegs(db: Database, groupIds: string[]): Promise<OrderRow[][]> {
  if (groupIds.length === 0) return [];
  const rows = await db
    .select()
    .from(orders)
    .where(inArray(orders.ocoGroupId, groupIds))
    .orderBy(asc(orders.number));
  const byGroup = new Map<string, OrderRow[]>(groupIds.map((g) => [g, []]));
  for (const r of rows) byGroup.get(r.ocoGroupId!)!.push(r);
  return [...byGroup.values()].filter((legs) => legs.length > 0).sort((a, b) => a[0]!.number - b[0]!.number);
}

/**
 * One of the caller's OCOs by its `orderListId` (its limit leg's number) or its
 * `listClientOrderId` (its limit leg's client order id); optionally in one market.
 */
export async function findOrderList(
  db: Database,
  userId: string,
  by: { listId?: number; clientOrderId?: string; market?: string },
): Promise<OrderRow[] | null> {
  const [head] = await db
    .select({ id: orders.id })
    .from(orders)
    .where(
      and(
        eq(orders.userId, userId),
        eq(orders.ocoGroupId, orders.id),
        by.market ? eq(orders.market, by.market) : undefined,
        by.listId !== undefined
          ? eq(orders.number, by.listId)
          : eq(orders.clientOrderId, by.clientOrderId ?? ""),
      ),
    );
  if (!head) return null;
  return (await orderListLegs(db, [head.id]))[0] ?? null;
}

/**
 * GET /allOrderList: the caller's OCOs from `fromId` (an orderListId) on, or the most recent;
 * oldest first either way.
 */
export async function orderListHistory(
  db: Database,
  q: { userId: string; fromId?: number; startTime?: number; endTime?: number; limit: number },
): Promise<OrderRow[][]> {
  const page = orderPage({ ...q, from: q.fromId });
  const heads = await db
    .select({ id: orders.id })
    .from(orders)
    .where(and(eq(orders.userId, q.userId), eq(orders.ocoGroupId, orders.id), ...page.where))
    .orderBy(page.order)
    .limit(q.limit);
  return orderListLegs(
    db,
    heads.map((h) => h.id),
  );
}

/** GET /openOrderList: the caller's OCOs with a leg still open. */
export async function openOrderLists(db: Database, userId: string): Promise<OrderRow[][]> {
  const open = await db
    .selectDistinct({ group: orders.ocoGroupId })
    .from(orders)
    .where(and(eq(orders.userId, userId), isNotNull(orders.ocoGroupId), inArray(orders.status, [...OPEN])));
  return orderListLegs(
    db,
    open.map((o) => o.group!),
  );
}
