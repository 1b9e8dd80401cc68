import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode } from "../../lib/errors";
import { formatUnits, parseUnits } from "../../lib/money";
import { recordAudit } from "../audit-log";
import { lockFunds, releaseFunds, type BalanceAfter } from "../ledger";
import { balanceUpdates, publishUserBalances } from "./balance-updates";
import type { CommandResult, PlaceCommand } from "../../../durable-objects/market/commands";
import { configureOrderBook, loadMarketRules, orderBook } from "./market-directory";
import type { MarketRules } from "./market-rules";
import { prepareOrder, type OrderInput, type PreparedOrder } from "./order-request";
import { toFillView, toOrderView, type FillView, type OrderRow, type OrderView } from "./order-view";

export interface PlaceOrderRequest extends OrderInput {
  market: string;
  client_order_id?: string;
}

export interface PlaceOrderResult {
  order: OrderView;
  fills: FillView[];
}

/**
 * Only KYC-verified users trade. No allowance for pending users: a pending user can deposit
 * and look around, and is asked to finish KYC (403 KYC_REQUIRED) before the first order.
 */
export function assertMayTrade(principal: Principal): void {
  if (principal.kycStatus !== "verified") {
    throw new AppError(403, ErrorCode.KYC_REQUIRED, "Trading requires a verified identity (KYC)");
  }
}

function rowValues(id: string, userId: string, req: PlaceOrderRequest, p: PreparedOrder) {
  return {
    id,
    userId,
    market: req.market,
    clientOrderId: req.client_order_id ?? null,
    side: p.side,
    type: p.type,
    timeInForce: p.timeInForce,
    postOnly: p.postOnly,
    selfTradePrevention: p.selfTradePrevention,
    price: p.price,
    stopPrice: p.stopPrice,
    quantity: p.quantity,
    quoteQuantity: p.quoteQuantity,
    visibleQuantity: p.visibleQuantity,
    trailingOffset: p.trailingOffset,
    trailingOffsetUnit: p.trailingOffsetUnit,
    status: "pending" as const,
    lockAsset: p.lock.asset,
    lockedAmount: p.lock.amount,
  };
}

/**
 * The object's place command. `trailing_offset` is whole ticks (or bps) in the API; the object
 * takes a tick offset as a price distance, so it is converted here.
 */
function bookCommand(
  id: string,
  userId: string,
  req: PlaceOrderRequest,
  rules: MarketRules,
  prepared: PreparedOrder,
): Omit<PlaceCommand, "kind"> {
  const trailing =
    prepared.trailingOffset === null
      ? undefined
      : prepared.trailingOffsetUnit === "bps"
        ? String(prepared.trailingOffset)
        : formatUnits(BigInt(prepared.trailingOffset) * rules.tickSize, rules.quoteDecimals);
  return {
    orderId: id,
    clientOrderId: req.client_order_id,
    userId,
    side: req.side,
    type: req.type,
    price: req.price,
    quantity: req.quantity,
    quoteQuantity: req.quote_quantity,
    stopPrice: req.stop_price,
    trailingOffset: trailing,
    trailingOffsetUnit: req.trailing_offset_unit,
    timeInForce: req.time_in_force,
    postOnly: req.post_only,
    selfTradePrevention: req.self_trade_prevention,
    visibleQuantity: req.visible_quantity,
  };
}

/**
 * Sends the placement to the order book. The order id makes it idempotent there (a known id
 * returns the first result), so an uncertain call is reconciled by simply asking again; an
 * unconfigured book gets its rules and the call is repeated. Returns null when the book could
 * not be reached at all: the order stays `pending` and the cron reconciles it.
 */
async function sendToBook(
  env: Env,
  rules: MarketRules,
  command: Omit<PlaceCommand, "kind">,
): Promise<CommandResult | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const book = orderBook(env, rules.symbol);
      const result = await book.place(command);
      if (!result.ok && result.code === "MARKET_NOT_FOUND") {
        await configureOrderBook(env, rules);
        continue;
      }
      return result;
    } catch {
      // Uncertain: the book may or may not have the order. Retrying with the same id is safe.
    }
  }
  return null;
}

/** Marks a placement the book refused as rejected and releases its whole lock, once. */
export async function rejectPlacement(
  db: Database,
  orderId: string,
  reason: string,
): Promise<OrderRow | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
    if (!row || row.status !== "pending") return row ?? null;
    const release = row.lockedAmount - row.consumedAmount - row.releasedAmount;
    if (release > 0n) {
      await releaseFunds(tx, {
        userId: row.userId,
        asset: row.lockAsset,
        amount: release,
        type: "order.release",
        reference: row.id,
      });
    }
    const [updated] = await tx
      .update(orders)
      .set({
        status: "rejected",
        rejectReason: reason,
        releasedAmount: row.releasedAmount + release,
        closedAt: new Date(),
        updatedAt: new Date(),
      })
      .where(eq(orders.id, orderId))
      .returning();
    return updated!;
  });
}

const BOOK_ERRORS: Record<string, [number, string]> = {
  MARKET_HALTED: [409, ErrorCode.MARKET_HALTED],
  MARKET_CANCEL_ONLY: [409, ErrorCode.MARKET_CANCEL_ONLY],
};

/**
 * The placement path that must never lose or create money (DESIGN.md):
 * 1. validate against the market's rules (one error code per rule);
 * 2. ONE transaction: insert the order (`pending`) and lock the funds it can consume
 *    (INSUFFICIENT_FUNDS rolls both back; a duplicate client_order_id is refused);
 * 3. the order book matches it and writes its fills to its outbox;
 * 4. settlement (after the response, and by cron) moves the funds.
 * A refusal by the book releases the lock at once; an unreachable book leaves the order
 * `pending` for the reconciliation job, which asks the book whether it knows the order.
 */
export async function placeOrder(
  db: Database,
  env: Env,
  principal: Principal,
  req: PlaceOrderRequest,
  metadata: RequestMetadata,
): Promise<PlaceOrderResult> {
  assertMayTrade(principal);
  const rules = await loadMarketRules(db, req.market);
  const prepared = prepareOrder(rules, req);
  const id = crypto.randomUUID();
  const userId = principal.userId;

  let inserted: OrderRow | undefined;
  let lockedBalance: BalanceAfter[] = [];
  await db
    .transaction(async (tx) => {
      if (req.client_order_id !== undefined) {
        const [existing] = await tx
          .select({ id: orders.id })
          .from(orders)
          .where(and(eq(orders.userId, userId), eq(orders.clientOrderId, req.client_order_id)));
        if (existing) {
          throw new AppError(409, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, "client_order_id is already used", {
            order_id: existing.id,
          });
        }
      }
      [inserted] = await tx
        .insert(orders)
        .values(rowValues(id, userId, req, prepared))
        .returning();
      lockedBalance = (
        await lockFunds(tx, {
          userId,
          asset: prepared.lock.asset,
          amount: prepared.lock.amount,
          type: "order.lock",
          reference: id,
        })
      ).balances;
      await recordAudit(tx, {
        actorId: userId,
        actorType: principal.via === "api_key" ? "api_key" : "user",
        action: "order.place",
        resourceType: "order",
        resourceId: id,
        details: { market: req.market, side: req.side, type: req.type },
        metadata,
      });
    })
    .catch((err: unknown) => {
      // Two requests with one client_order_id racing past the check: the unique index decides.
      if (isUniqueViolation(err)) {
        throw new AppError(409, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, "client_order_id is already used");
      }
      throw err;
    });

  // The post-lock balance rides on the place command to the user's `balances` sockets.
  const [balance] = balanceUpdates(rules, lockedBalance);
  const result = await sendToBook(env, rules, {
    ...bookCommand(id, userId, req, rules, prepared),
    ...(balance ? { balance } : {}),
  });
  if (result === null) {
    const [row] = await db.select().from(orders).where(eq(orders.id, id));
    return { order: toOrderView(row!, rules), fills: [] };
  }
  if (!result.ok) {
    await rejectPlacement(db, id, result.code);
    await publishUserBalances(db, env, req.market, userId, [prepared.lock.asset]);
    const [status, code] = BOOK_ERRORS[result.code] ?? [422, ErrorCode.ORDER_REJECTED];
    throw new AppError(status as 409 | 422, code, result.message, { reason: result.code, order_id: id });
  }
  // The book has it: `new` at once, so a read right after the reply never shows `pending`
  // (settlement may already have moved it further: then this changes nothing).
  const [confirmed] = await db
    .update(orders)
    .set({ status: "new", updatedAt: new Date() })
    .where(and(eq(orders.id, id), eq(orders.status, "pending")))
    .returning();
  const view = toOrderView(confirmed ?? inserted!, rules);
  const report = result.order;
  if (report) {
    // The book's answer is ahead of settlement: show its status and filled quantity.
    const base = (v: string | null) =>
      v === null
        ? null
        : formatUnits(parseUnits(v, rules.baseDecimals, { allowZero: true }), rules.baseDecimals);
    view.status = report.status;
    view.filled_quantity = base(report.filledQuantity)!;
    view.remaining_quantity = base(report.remainingQuantity);
  }
  return { order: view, fills: (result.fills ?? []).map((f) => toFillView(rules, req.side, f)) };
}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: string }).code === "23505") return true;
  }
  return false;
}
