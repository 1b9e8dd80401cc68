import { and, desc, eq, getTableColumns, inArray, lt, or, sql } from "drizzle-orm";
import { reusedQuery, type Database } from "../../db/client";
import { orders, trades } from "../../db/schema";
import { badRequest, notFound } from "../../lib/errors";
import { loadMarketRules } from "./market-directory";
import type { MarketRules } from "../../domain/market/market-rules";
import { toMyTradeView, toOrderView } from "../../domain/market/order-view";

/**
 * The columns an order's view is made of: a page of orders selects only these, not the
 * bookkeeping ones (`number`, `user_id`, the amendment hold), for a shorter statement for
 * Postgres to parse, the HTTP endpoint to describe and the driver to read.
 */
const {
  number: _number,
  userId: _userId,
  amendId: _amendId,
  amendExpiresAt: _amendExpiresAt,
  amendSeq: _amendSeq,
  ...ORDER_VIEW_COLUMNS
} = getTableColumns(orders);

const OPEN_STATUSES = ["pending", "new", "partially_filled"] as const;
const CLOSED_STATUSES = ["filled", "cancelled", "expired", "rejected"] as const;

/**
 * The rules of the markets a page names, from the per-isolate cache of `loadMarketRules` (a
 * query per market only when its entry is stale), not every market's rules per request.
 */
async function rulesOf(db: Database, symbols: Iterable<string>): Promise<Map<string, MarketRules>> {
  const unique = [...new Set(symbols)];
  const rules = await Promise.all(unique.map((symbol) => loadMarketRules(db, symbol)));
  return new Map(unique.map((symbol, i) => [symbol, rules[i]!]));
}

/** One order; `userId` null for an admin. Another user's order is a 404, as an unknown one. */
export async function getOrder(db: Database, userId: string | null, orderId: string) {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), userId ? eq(orders.userId, userId) : undefined));
  if (!row) throw notFound("Order");
  const rules = (await rulesOf(db, [row.market])).get(row.market)!;
  return toOrderView(row, rules);
}

export interface OrderListQuery {
  userId?: string;
  market?: string;
  state: "open" | "closed" | "all";
  cursor?: string;
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function listOrders(db: Database, q: OrderListQuery) {
  // The cursor is the last order of the previous page; rows come newest first.
  if (q.cursor && !UUID.test(q.cursor)) throw badRequest("Invalid cursor");
  // Built once per shape (which filters are present), run with this request's values.
  const shape = `orders.list:${q.userId ? "user" : ""}:${q.market ? "market" : ""}:${q.cursor ? "cursor" : ""}:${q.state}`;
  const rows = await reusedQuery(db, shape, (db) =>
    db
      .select(ORDER_VIEW_COLUMNS)
      .from(orders)
      .where(
        and(
          q.userId ? eq(orders.userId, sql.placeholder("userId")) : undefined,
          q.market ? eq(orders.market, sql.placeholder("market")) : undefined,
          q.state === "open"
            ? inArray(orders.status, [...OPEN_STATUSES])
            : q.state === "closed"
              ? inArray(orders.status, [...CLOSED_STATUSES])
              : undefined,
          q.cursor
            ? sql`(${orders.createdAt}, ${orders.id}) < (select o.created_at, o.id from orders o where o.id = ${sql.placeholder("cursor")}::uuid)`
            : undefined,
        ),
      )
      .orderBy(desc(orders.createdAt), desc(orders.id))
      .limit(sql.placeholder("limit"))
      .prepare("orders_list"),
  ).execute({ userId: q.userId, market: q.market, cursor: q.cursor, limit: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  const rules = await rulesOf(
    db,
    page.map((r) => r.market),
  );
  const last = page[page.length - 1];
  return {
    orders: page.map((r) => toOrderView(r, rules.get(r.market)!)),
    next_cursor: rows.length > q.limit && last ? last.id : null,
  };
}

export interface TradeListQuery {
  userId: string;
  market?: string;
  /** The previous page's `next_cursor`: trades older than this row. */
  cursor?: string;
  limit: number;
}

export async function listTrades(db: Database, q: TradeListQuery) {
  let before: bigint | undefined;
  if (q.cursor) {
    if (!/^\d{1,19}$/.test(q.cursor)) throw badRequest("Invalid cursor");
    before = BigInt(q.cursor);
  }
  const rows = await db
    .select()
    .from(trades)
    .where(
      and(
        or(eq(trades.buyerId, q.userId), eq(trades.sellerId, q.userId)),
        q.market ? eq(trades.market, q.market) : undefined,
        before !== undefined ? lt(trades.id, before) : undefined,
      ),
    )
    .orderBy(desc(trades.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const rules = await rulesOf(
    db,
    page.map((r) => r.market),
  );
  return {
    trades: page.map((r) => toMyTradeView(r, rules.get(r.market)!, q.userId)),
    next_cursor: rows.length > q.limit ? page[page.length - 1]!.id.toString() : null,
  };
}
