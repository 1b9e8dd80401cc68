import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, notFound } from "../../lib/errors";
import { recordAudit, type AuditEntry } from "../../domain/audit-log";
import { askBook, loadMarketRules, orderBook } from "./market-directory";
import { toOrderView, type OrderView } from "../../domain/market/order-view";
import { isFinal, type OrderStatus } from "../../domain/settlement/plan";
import { settleMarket } from "../../domain/settlement/settle-market";
import type { MarketRules } from "../../domain/market/market-rules";

/**
 * What both cancels do once the book answered: settle the market in this request (so the reply
 * shows the order closed and its unused lock released), then record who cancelled what.
 */
async function settleAndAudit(
  db: Database,
  env: Env,
  rules: MarketRules,
  principal: Principal,
  metadata: RequestMetadata,
  entry: Pick<AuditEntry, "action" | "resourceType" | "resourceId" | "details">,
): Promise<void> {
  await settleMarket(db, orderBook(env, rules.symbol), rules, { maxBatches: 5, wait: true });
  await recordAudit(db, {
    actorId: principal.userId,
    actorType: principal.via === "api_key" ? "api_key" : "user",
    metadata,
    ...entry,
  });
}

/**
 * Cancels one of the caller's orders. Another user's id is a 404 and touches nothing. The
 * book cancels (halted and cancel-only markets still accept cancels); the market is then
 * settled in this request (see `settleAndAudit`).
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
  const result = await askBook(env, db, row.market, (book) => book.cancel(orderId, principal.userId));
  // No cancel can race its order's placement: the object locks, books and cancels in arrival
  // order, so an order the book does not know was refused or has not been recorded at all.
  await settleAndAudit(db, env, rules, principal, metadata, {
    action: "order.cancel",
    resourceType: "order",
    resourceId: orderId,
    details: { market: row.market, result: result.ok ? "cancelled" : result.code },
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
  const result = await askBook(env, db, market, (book) => book.cancelAll(principal.userId));
  if (!result.ok) throw new AppError(409, ErrorCode.ORDER_NOT_OPEN, result.message, { reason: result.code });
  await settleAndAudit(db, env, rules, principal, metadata, {
    action: "order.cancel_all",
    resourceType: "market",
    resourceId: market,
    details: { cancelled: result.cancelled?.length ?? 0 },
  });
  return result.cancelled ?? [];
}
