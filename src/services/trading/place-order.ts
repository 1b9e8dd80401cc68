import { and, asc, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, unprocessable } from "../../lib/errors";
import { formatUnits, parseUnits } from "../../lib/money";
import { auditInsert } from "../audit-log";
import {
  journalEntryStatement,
  lockEntry,
  releaseFunds,
  type BalanceAfter,
  type JournalEntryColumns,
} from "../ledger";
import { balanceUpdates, publishUserBalances } from "./balance-updates";
import type {
  CommandResult,
  OrderReport,
  PlaceCommand,
  PlaceOcoCommand,
} from "../../../durable-objects/market/commands";
import { configureOrderBook, loadMarketRules, orderBook, type OrderBookStub } from "./market-directory";
import type { MarketRules } from "./market-rules";
import {
  prepareOco,
  prepareOrder,
  type OcoInput,
  type OrderInput,
  type OrderType,
  type PreparedOrder,
} from "./order-request";
import { toFillView, toOrderView, type FillView, type OrderRow, type OrderView } from "./order-view";

export interface PlaceOrderRequest extends Omit<OrderInput, "type"> {
  market: string;
  /** `oco`: a limit leg at `price` and a stop leg at `stop_price` (see `prepareOco`). */
  type: OrderType | "oco";
  /** OCO only: makes the stop leg a stop_limit at this price. */
  stop_limit_price?: string;
  client_order_id?: string;
}

type SingleOrderRequest = PlaceOrderRequest & { type: OrderType };

export interface PlaceOrderResult {
  /** The order; for an OCO its limit leg. */
  order: OrderView;
  /** OCO only: both legs, the limit leg first. */
  orders?: OrderView[];
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

function rowValues(
  id: string,
  userId: string,
  req: { market: string; client_order_id?: string },
  p: PreparedOrder,
) {
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
  req: SingleOrderRequest,
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
  send: (book: OrderBookStub) => Promise<CommandResult>,
): Promise<CommandResult | null> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const book = orderBook(env, rules.symbol);
      const result = await send(book);
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

/**
 * Marks a placement the book refused as rejected and releases its whole lock, once. An OCO leg
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
      if (release > 0n) {
        await releaseFunds(tx, {
          userId: r.userId,
          asset: r.lockAsset,
          amount: release,
          type: "order.release",
          reference: r.id,
        });
      }
      const [updated] = await tx
        .update(orders)
        .set({
          status: "rejected",
          rejectReason: reason,
          releasedAmount: r.releasedAmount + release,
          closedAt: new Date(),
          updatedAt: new Date(),
        })
        .where(eq(orders.id, r.id))
        .returning();
      if (r.id === orderId) result = updated!;
    }
    return result;
  });
}

/**
 * The placement in ONE statement (atomic without a transaction, one round trip on the hottest
 * path): the order rows (`pending`), the audit row and the journal entry locking the funds they
 * can consume. INSUFFICIENT_FUNDS or a used client_order_id (409) leaves nothing behind.
 */
async function recordPlacement(
  db: Database,
  principal: Principal,
  p: {
    clientOrderId: string | undefined;
    rows: (typeof orders.$inferInsert & ReturnType<typeof rowValues>)[];
    lock: { asset: string; amount: bigint; reference: string };
    audit: { resourceId: string; details: Record<string, unknown> };
    metadata: RequestMetadata;
  },
): Promise<{ rows: OrderRow[]; balances: BalanceAfter[] }> {
  const userId = principal.userId;
  if (p.clientOrderId !== undefined) {
    const [existing] = await db
      .select({ id: orders.id })
      .from(orders)
      .where(and(eq(orders.userId, userId), eq(orders.clientOrderId, p.clientOrderId)));
    if (existing) {
      throw new AppError(409, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, "client_order_id is already used", {
        order_id: existing.id,
      });
    }
  }
  const entry = journalEntryStatement(lockEntry({ userId, ...p.lock, type: "order.lock" }));
  const placed = db.insert(orders).values(p.rows).returning({ id: orders.id, createdAt: orders.createdAt });
  const audited = auditInsert(db, {
    actorId: userId,
    actorType: principal.via === "api_key" ? "api_key" : "user",
    action: "order.place",
    resourceType: "order",
    resourceId: p.audit.resourceId,
    details: p.audit.details,
    metadata: p.metadata,
  });
  let result;
  try {
    result = await db.execute<JournalEntryColumns & { placed: { id: string; created_at: string }[] }>(
      sql`with placed as (${placed.getSQL()}), audited as (${audited.getSQL()}), ${entry.ctes}
        select (select json_agg(placed) from placed) as placed, ${entry.columns}`,
    );
  } catch (err) {
    // Two requests with one client_order_id racing past the check: the unique index decides.
    if (isUniqueViolation(err)) {
      throw new AppError(409, ErrorCode.DUPLICATE_CLIENT_ORDER_ID, "client_order_id is already used");
    }
    throw entry.failure(err);
  }
  const out = result.rows[0]!;
  const { balances } = await entry.read(db, out);
  const createdAt = new Date(out.placed[0]!.created_at);
  return { rows: p.rows.map((row) => insertedRow(row, createdAt)), balances };
}

/** The row as Postgres now holds it: what was inserted, the columns' defaults, its timestamps. */
function insertedRow(row: typeof orders.$inferInsert & ReturnType<typeof rowValues>, at: Date): OrderRow {
  return {
    ocoGroupId: null,
    amendId: null,
    amendExpiresAt: null,
    amendSeq: null,
    rejectReason: null,
    filledQuantity: 0n,
    filledQuote: 0n,
    consumedAmount: 0n,
    releasedAmount: 0n,
    closedAt: null,
    ...row,
    createdAt: at,
    updatedAt: at,
  };
}

const BOOK_ERRORS: Record<string, [number, string]> = {
  MARKET_HALTED: [409, ErrorCode.MARKET_HALTED],
  MARKET_CANCEL_ONLY: [409, ErrorCode.MARKET_CANCEL_ONLY],
};

/**
 * The placement path that must never lose or create money (DESIGN.md):
 * 1. validate against the market's rules (one error code per rule);
 * 2. ONE statement (`recordPlacement`): insert the order (`pending`) and lock the funds it can
 *    consume (INSUFFICIENT_FUNDS leaves neither; a duplicate client_order_id is refused);
 * 3. the order book matches it and writes its fills to its outbox;
 * 4. the order book settles them (durable-objects/market/settler.ts; the cron as a fallback).
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
  if (req.type === "oco") return placeOcoOrder(db, env, principal, req, metadata);
  if (req.stop_limit_price !== undefined) {
    throw unprocessable("stop_limit_price is for oco orders", ErrorCode.INVALID_ORDER, {
      field: "stop_limit_price",
    });
  }
  const single = req as SingleOrderRequest;
  const rules = await loadMarketRules(db, req.market);
  const prepared = prepareOrder(rules, single);
  const id = crypto.randomUUID();
  const userId = principal.userId;

  const { rows, balances: lockedBalance } = await recordPlacement(db, principal, {
    clientOrderId: req.client_order_id,
    rows: [rowValues(id, userId, req, prepared)],
    lock: { asset: prepared.lock.asset, amount: prepared.lock.amount, reference: id },
    audit: { resourceId: id, details: { market: req.market, side: req.side, type: req.type } },
    metadata,
  });
  const inserted = rows[0];

  // The post-lock balance rides on the place command to the user's `balances` sockets.
  const [balance] = balanceUpdates(rules, lockedBalance);
  const command = { ...bookCommand(id, userId, single, rules, prepared), ...(balance ? { balance } : {}) };
  const result = await sendToBook(env, rules, (book) => book.place(command));
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
  const view = withReport(toOrderView(confirmed ?? inserted!, rules), rules, result.order);
  return { order: view, fills: (result.fills ?? []).map((f) => toFillView(rules, req.side, f)) };
}

/** The book's answer is ahead of settlement: show its status and filled quantity. */
function withReport(view: OrderView, rules: MarketRules, report: OrderReport | undefined): OrderView {
  if (!report) return view;
  const base = (v: string | null) =>
    v === null
      ? null
      : formatUnits(parseUnits(v, rules.baseDecimals, { allowZero: true }), rules.baseDecimals);
  view.status = report.status;
  view.filled_quantity = base(report.filledQuantity)!;
  view.remaining_quantity = base(report.remainingQuantity);
  return view;
}

/**
 * An OCO: the same path as one order, for two rows and ONE lock. Both legs are inserted
 * `pending` (sharing `oco_group_id`, the limit leg's id; the limit leg holds the pair's lock,
 * the stop leg 0) and the lock is taken once (`order.lock`, reference the limit leg), in one
 * transaction; the book gets one `place_oco` command and accepts or refuses the pair. From then
 * on settlement moves the lock to whichever leg lives on (see `planSettlement`).
 */
async function placeOcoOrder(
  db: Database,
  env: Env,
  principal: Principal,
  req: PlaceOrderRequest,
  metadata: RequestMetadata,
): Promise<PlaceOrderResult> {
  const rules = await loadMarketRules(db, req.market);
  const { limit, stop, lock } = prepareOco(rules, { ...req } as OcoInput);
  const limitId = crypto.randomUUID();
  const stopId = crypto.randomUUID();
  const userId = principal.userId;

  await recordPlacement(db, principal, {
    clientOrderId: req.client_order_id,
    rows: [
      { ...rowValues(limitId, userId, req, limit), ocoGroupId: limitId, lockedAmount: lock.amount },
      { ...rowValues(stopId, userId, { market: req.market }, stop), ocoGroupId: limitId, lockedAmount: 0n },
    ],
    lock: { asset: lock.asset, amount: lock.amount, reference: limitId },
    audit: {
      resourceId: limitId,
      details: { market: req.market, side: req.side, type: "oco", stop_order_id: stopId },
    },
    metadata,
  });

  const command: Omit<PlaceOcoCommand, "kind"> = {
    orderId: limitId,
    stopOrderId: stopId,
    clientOrderId: req.client_order_id,
    userId,
    side: req.side,
    quantity: req.quantity!,
    price: req.price!,
    stopPrice: req.stop_price!,
    stopLimitPrice: req.stop_limit_price,
    selfTradePrevention: req.self_trade_prevention,
  };
  const result = await sendToBook(env, rules, (book) => book.placeOco(command));
  const legsOf = async () => {
    const rows = await db.select().from(orders).where(eq(orders.ocoGroupId, limitId));
    const byId = new Map(rows.map((r) => [r.id, r]));
    return [byId.get(limitId)!, byId.get(stopId)!];
  };
  if (result === null) {
    const legs = (await legsOf()).map((r) => toOrderView(r, rules));
    return { order: legs[0]!, orders: legs, fills: [] };
  }
  if (!result.ok) {
    await rejectPlacement(db, limitId, result.code);
    const [status, code] = BOOK_ERRORS[result.code] ?? [422, ErrorCode.ORDER_REJECTED];
    throw new AppError(status as 409 | 422, code, result.message, {
      reason: result.code,
      order_id: limitId,
      stop_order_id: stopId,
    });
  }
  await db
    .update(orders)
    .set({ status: "new", updatedAt: new Date() })
    .where(and(eq(orders.ocoGroupId, limitId), eq(orders.status, "pending")));
  const reports = result.orders ?? [];
  const legs = (await legsOf()).map((r, i) => withReport(toOrderView(r, rules), rules, reports[i]));
  return {
    order: legs[0]!,
    orders: legs,
    fills: (result.fills ?? []).map((f) => toFillView(rules, req.side, f)),
  };
}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: string }).code === "23505") return true;
  }
  return false;
}
