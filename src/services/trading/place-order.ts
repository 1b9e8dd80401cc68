import { asc, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { CommandResult, PlaceCommand, PlaceOcoCommand } from "../../domain/market/commands";
import type { OrderRow } from "../../domain/market/order-view";
import { placementAnswer } from "../../domain/market/placement-answer";
import {
  assertMayTrade,
  preparePlacement,
  type PlaceOrderRequest,
  type PlaceOrderResult,
} from "../../domain/market/placement";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { serviceUnavailable } from "../../lib/errors";
import { moveOrderLock } from "../../domain/market/order-lock-move";
import { loadMarketRules, unconfigured } from "./market-directory";
import { withBook } from "../markets";

/**
 * Sends commands to the market's object (one call). An unconfigured book gets its rules from
 * Postgres and the call is repeated (`withBook`); a call that fails is repeated with the same
 * order ids, which the object answers with the first result. Throws 503 when the object could
 * not be reached.
 */
export async function sendToBook(
  db: Database,
  env: Env,
  symbol: string,
  commands: (PlaceCommand | PlaceOcoCommand)[],
  /** The request's W3C trace context, continued by the object (its logs, its funds lock's SQL). */
  traceparent?: string,
): Promise<CommandResult[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await withBook(
        env,
        () => db,
        symbol,
        async (book) => {
          const results = await book.placeBatch(commands, traceparent);
          return results.some(unconfigured) ? null : results;
        },
      );
    } catch {
      // Uncertain: the book may or may not have the orders. Retrying with the same ids is safe.
    }
  }
  throw serviceUnavailable("The market did not answer; retry with the same Idempotency-Key");
}

/**
 * The placement path that must never lose or create money (DESIGN.md, second design):
 * 1. validate against the market's rules (one error code per rule);
 * 2. ONE call to the market's object, which owns the order from the lock on: it locks the funds
 *    of every placement that reached it since its last flush in one Postgres round trip
 *    (`place_orders`: INSUFFICIENT_FUNDS or a used client_order_id leaves nothing behind),
 *    matches, journals and answers (durable-objects/market/order-intake.ts);
 * 3. the object settles the fills and releases what a refused or finished order no longer needs.
 * The Worker opens no Postgres connection on this path.
 */
export async function placeOrder(
  db: Database,
  env: Env,
  principal: Principal,
  req: PlaceOrderRequest,
  metadata: RequestMetadata,
  orderId?: string,
  traceparent?: string,
): Promise<PlaceOrderResult> {
  assertMayTrade(principal);
  const rules = await loadMarketRules(db, req.market);
  const placement = preparePlacement(rules, principal, req, metadata, orderId);
  const [result] = await sendToBook(db, env, req.market, [placement.command], traceparent);
  return placementAnswer(db, placement, result!);
}

/**
 * Marks a placement left `pending` by the first order path (before the object locked funds
 * itself) as rejected and releases its whole lock, once. An OCO leg
 * takes its sibling along (the book accepts or refuses the pair as one).
 */
export async function rejectPlacement(
  db: Database,
  orderId: string,
  reason: string,
): Promise<OrderRow | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(orders).where(eq(orders.id, orderId));
    if (!row) return null;
    // Every leg locked in id order, as settlement locks them.
    const rows = await tx
      .select()
      .from(orders)
      .where(row.ocoGroupId ? eq(orders.ocoGroupId, row.ocoGroupId) : eq(orders.id, orderId))
      .orderBy(asc(orders.id))
      .for("update");
    const target = rows.find((r) => r.id === orderId)!;
    if (target.status !== "pending") return target;
    let result = target;
    for (const r of rows) {
      if (r.status !== "pending") continue;
      const release = r.lockedAmount - r.consumedAmount - r.releasedAmount;
      const move = { kind: "release", amount: release, type: "order.release", reference: r.id } as const;
      const updated = await moveOrderLock(tx, r, move, {
        status: "rejected",
        rejectReason: reason,
        closedAt: new Date(),
      });
      if (r.id === orderId) result = updated;
    }
    return result;
  });
}
