import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, notFound } from "../../lib/errors";
import { recordAudit } from "../../domain/audit-log";
import { configureOrderBook, loadMarketRules, orderBook } from "./market-directory";
import { toOrderView, type OrderView } from "../../domain/market/order-view";
import { isFinal, type OrderStatus } from "../../domain/settlement/plan";
import { settleMarket } from "../../domain/settlement/settle-market";
import { toBookRules } from "../../domain/market/market-rules";

const actorType = (p: Principal) => (p.via === "api_key" ? "api_key" : "user");

/**
 * Cancels one of the caller's orders. Another user's id is a 404 and touches nothing. The
 * book cancels (halted and cancel-only markets still accept cancels); the market is then
 * settled in this request, so the reply shows the order closed and its unused lock released.
 */
export async function cancelOrder(
  db: Database,
  env: Env,
  principal: Principal,
  orderId: string,
  metadata: RequestMetadata,
): Promise<OrderView> {
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, principal.userId)));
  if (!row) throw notFound("Order");
  if (isFinal(row.status as OrderStatus)) {
    throw new AppError(409, ErrorCode.ORDER_NOT_OPEN, `The order is already ${row.status}`);
  }
  const rules = await loadMarketRules(db, row.market);
  const book = orderBook(env, row.market);
  let result = await book.cancel(orderId, principal.userId);
  if (!result.ok && result.code === "MARKET_NOT_FOUND") {
    await configureOrderBook(env, toBookRules(rules));
    result = await book.cancel(orderId, principal.userId);
  }
  // No cancel can race its order's placement: the object locks, books and cancels in arrival
  // order, so an order the book does not know was refused or has not been recorded at all.
  await settleMarket(db, book, rules, { maxBatches: 5, wait: true });
  await recordAudit(db, {
    actorId: principal.userId,
    actorType: actorType(principal),
    action: "order.cancel",
    resourceType: "order",
    resourceId: orderId,
    details: { market: row.market, result: result.ok ? "cancelled" : result.code },
    metadata,
  });
  const [after] = await db.select().from(orders).where(eq(orders.id, orderId));
  return toOrderView(after!, rules);
}

/** Cancels all of the caller's open orders in a market; returns the ids the book cancelled. */
export async function cancelAllOrders(
  db: Database,
  env: Env,
  principal: Principal,
  market: string,
  metadata: RequestMetadata,
): Promise<string[]> {
  const rules = await loadMarketRules(db, market);
  const book = orderBook(env, market);
  let result = await book.cancelAll(principal.userId);
  if (!result.ok && result.code === "MARKET_NOT_FOUND") {
    await configureOrderBook(env, toBookRules(rules));
    result = await book.cancelAll(principal.userId);
  }
  if (!result.ok) throw new AppError(409, ErrorCode.ORDER_NOT_OPEN, result.message, { reason: result.code });
  await settleMarket(db, book, rules, { maxBatches: 5, wait: true });
  await recordAudit(db, {
    actorId: principal.userId,
    actorType: actorType(principal),
    action: "order.cancel_all",
    resourceType: "market",
    resourceId: market,
    details: { cancelled: result.cancelled?.length ?? 0 },
    metadata,
  });
  return result.cancelled ?? [];
}
