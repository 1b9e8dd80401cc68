import { and, asc, desc, eq, gte, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Database } from "../db/client";
import { orders, trades } from "../db/schema";
import { formatUnits } from "../lib/money";
import type { MarketRules } from "../services/trading/market-rules";
import type { OrderRow } from "../services/trading/order-view";
import { binanceSymbol } from "./symbols";
import { tradeNumber } from "./views";

const OPEN = ["pending", "new", "partially_filled"] as const;

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

/**
 * GET /allOrders: with `orderId` the orders from it on, otherwise the most recent ones; oldest
 * first either way, as Binance answers.
 */
export async function allOrders(db: Database, q: HistoryQuery): Promise<OrderRow[]> {
  const rows = await db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.userId, q.userId),
        eq(orders.market, q.market),
        q.orderId !== undefined ? gte(orders.number, q.orderId) : undefined,
        q.startTime !== undefined ? gte(orders.createdAt, new Date(q.startTime)) : undefined,
        q.endTime !== undefined ? lte(orders.createdAt, new Date(q.endTime)) : undefined,
      ),
    )
    .orderBy(q.orderId !== undefined ? asc(orders.number) : desc(orders.number))
    .limit(q.limit);
  return q.orderId !== undefined ? rows : rows.reverse();
}

/** GET /myTrades: the caller's fills in a market, each side they were on (a self-trade twice). */
export async function myTrades(db: Database, rules: MarketRules, q: HistoryQuery) {
  const buy = alias(orders, "buy_order");
  const sell = alias(orders, "sell_order");
  const number = sql<number>`split_part(${trades.tradeId}, ':', 2)::bigint`;
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
