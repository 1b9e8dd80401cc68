import { asc, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, serviceUnavailable, unprocessable } from "../../lib/errors";
import { derivedUuid } from "../../lib/derived-id";
import { formatUnits, parseUnits } from "../../lib/money";
import { redact } from "../../lib/redact";
import { releaseFunds } from "../ledger";
import type {
  CommandResult,
  OrderReport,
  PlacementFunding,
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
import {
  toFillView,
  toOrderView,
  type FillView,
  type OrderRow,
  type OrderView,
  type UnnumberedOrderRow,
} from "./order-view";

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

type OrderValues = ReturnType<typeof rowValues>;

function rowValues(
  id: string,
  userId: string,
  req: { market: string; client_order_id?: string },
  p: PreparedOrder,
  at: Date,
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
    ocoGroupId: null as string | null,
    status: "new" as const,
    lockAsset: p.lock.asset,
    lockedAmount: p.lock.amount,
    createdAt: at,
  };
}

/** The row as `place_orders` inserts it (Postgres column names; minor units as strings). */
function fundingRow(v: OrderValues): PlacementFunding["rows"][number] {
  const minor = (x: bigint | null) => (x === null ? null : x.toString());
  return {
    id: v.id,
    user_id: v.userId,
    market: v.market,
    client_order_id: v.clientOrderId,
    side: v.side,
    type: v.type,
    time_in_force: v.timeInForce,
    post_only: v.postOnly,
    self_trade_prevention: v.selfTradePrevention,
    price: minor(v.price),
    stop_price: minor(v.stopPrice),
    quantity: minor(v.quantity),
    quote_quantity: minor(v.quoteQuantity),
    visible_quantity: minor(v.visibleQuantity),
    trailing_offset: v.trailingOffset,
    trailing_offset_unit: v.trailingOffsetUnit,
    oco_group_id: v.ocoGroupId,
    lock_asset: v.lockAsset,
    locked_amount: v.lockedAmount.toString(),
  };
}

/** The row as Postgres holds it once `place_orders` recorded it. */
function recordedRow(v: OrderValues): UnnumberedOrderRow {
  return {
    amendId: null,
    amendExpiresAt: null,
    amendSeq: null,
    rejectReason: null,
    filledQuantity: 0n,
    filledQuote: 0n,
    consumedAmount: 0n,
    releasedAmount: 0n,
    closedAt: null,
    updatedAt: v.createdAt,
    ...v,
  };
}

function funding(
  principal: Principal,
  rows: OrderValues[],
  lock: { asset: string; amount: bigint },
  details: Record<string, unknown>,
  metadata: RequestMetadata,
): PlacementFunding {
  return {
    rows: rows.map(fundingRow),
    lock: { user_id: principal.userId, asset: lock.asset, amount: lock.amount.toString() },
    audit: {
      actor_id: principal.userId,
      actor_type: principal.via === "api_key" ? "api_key" : "user",
      ip_address: metadata.ipAddress,
      user_agent: metadata.userAgent,
      request_id: metadata.requestId,
      details: redact(details) as Record<string, unknown>,
    },
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
 * A validated placement, ready for the market's object: the command (with the funding the
 * object locks) and the rows it records, from which the reply is shaped without reading them.
 */
export interface BookPlacement {
  rules: MarketRules;
  side: "buy" | "sell";
  command: PlaceCommand | PlaceOcoCommand;
  rows: OrderValues[];
}

/**
 * Checks a request against its market's rules (one error code per rule) and builds what the
 * object needs. `orderId`: the id to use (an idempotent retry passes the first attempt's).
 */
export function preparePlacement(
  rules: MarketRules,
  principal: Principal,
  req: PlaceOrderRequest,
  metadata: RequestMetadata,
  orderId: string = crypto.randomUUID(),
): BookPlacement {
  const userId = principal.userId;
  const at = new Date();
  if (req.type === "oco") {
    const { limit, stop, lock } = prepareOco(rules, { ...req } as OcoInput);
    // Follows from the limit leg's, so a retry of the pair names the same two orders.
    const stopId = derivedUuid("oco-stop", orderId);
    const rows = [
      { ...rowValues(orderId, userId, req, limit, at), ocoGroupId: orderId, lockedAmount: lock.amount },
      {
        ...rowValues(stopId, userId, { market: req.market }, stop, at),
        ocoGroupId: orderId,
        lockedAmount: 0n,
      },
    ];
    const details = { market: req.market, side: req.side, type: "oco", stop_order_id: stopId };
    return {
      rules,
      side: req.side,
      rows,
      command: {
        kind: "place_oco",
        orderId,
        stopOrderId: stopId,
        clientOrderId: req.client_order_id,
        userId,
        side: req.side,
        quantity: req.quantity!,
        price: req.price!,
        stopPrice: req.stop_price!,
        stopLimitPrice: req.stop_limit_price,
        selfTradePrevention: req.self_trade_prevention,
        funding: funding(principal, rows, lock, details, metadata),
        limits: principal.orderLimits,
      },
    };
  }
  if (req.stop_limit_price !== undefined) {
    throw unprocessable("stop_limit_price is for oco orders", ErrorCode.INVALID_ORDER, {
      field: "stop_limit_price",
    });
  }
  const single = req as SingleOrderRequest;
  const prepared = prepareOrder(rules, single);
  const rows = [rowValues(orderId, userId, req, prepared, at)];
  const details = { market: req.market, side: req.side, type: req.type };
  return {
    rules,
    side: req.side,
    rows,
    command: {
      kind: "place",
      ...bookCommand(orderId, userId, single, rules, prepared),
      funding: funding(principal, rows, prepared.lock, details, metadata),
      limits: principal.orderLimits,
    },
  };
}

/**
 * Sends commands to the market's object (one call). An unconfigured book gets its rules and the
 * call is repeated; a call that fails is repeated with the same order ids, which the object
 * answers with the first result. Throws 503 when the object could not be reached.
 */
export async function sendToBook(
  env: Env,
  rules: MarketRules,
  commands: (PlaceCommand | PlaceOcoCommand)[],
  /** The request's W3C trace context, continued by the object (its logs, its funds lock's SQL). */
  traceparent?: string,
): Promise<CommandResult[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const book: OrderBookStub = orderBook(env, rules.symbol);
      const results = await book.placeBatch(commands, traceparent);
      if (results.some((r) => !r.ok && r.code === "MARKET_NOT_FOUND")) {
        await configureOrderBook(env, rules);
        continue;
      }
      return results;
    } catch {
      // Uncertain: the book may or may not have the orders. Retrying with the same ids is safe.
    }
  }
  throw serviceUnavailable("The market did not answer; retry with the same Idempotency-Key");
}

/** The book's refusals for the market's status, as the API answers them (placements and amends). */
export const MARKET_STATUS_ERRORS: Record<string, [409, string]> = {
  MARKET_HALTED: [409, ErrorCode.MARKET_HALTED],
  MARKET_CANCEL_ONLY: [409, ErrorCode.MARKET_CANCEL_ONLY],
};

const BOOK_ERRORS: Record<string, [409 | 422 | 429 | 503, string]> = {
  ...MARKET_STATUS_ERRORS,
  INSUFFICIENT_FUNDS: [422, ErrorCode.INSUFFICIENT_FUNDS],
  DUPLICATE_CLIENT_ORDER_ID: [409, ErrorCode.DUPLICATE_CLIENT_ORDER_ID],
  ORDER_NOT_FUNDED: [409, ErrorCode.CONFLICT],
  FUNDS_UNAVAILABLE: [503, ErrorCode.SERVICE_UNAVAILABLE],
  TOO_MANY_ORDERS: [429, ErrorCode.TOO_MANY_ORDERS],
};

/**
 * The object's answer as the API's reply, or the refusal as an AppError. `db` is read only for
 * a replay (`duplicate`), whose rows are the first attempt's.
 */
export async function placementAnswer(
  db: Database | null,
  p: BookPlacement,
  result: CommandResult,
): Promise<PlaceOrderResult> {
  const { rules } = p;
  const id = p.rows[0]!.id;
  if (!result.ok) {
    const [status, code] = BOOK_ERRORS[result.code] ?? [422, ErrorCode.ORDER_REJECTED];
    const details: Record<string, string> =
      result.code === "DUPLICATE_CLIENT_ORDER_ID"
        ? result.orderId
          ? { order_id: result.orderId }
          : {}
        : { reason: result.code, order_id: id, ...(p.rows[1] ? { stop_order_id: p.rows[1].id } : {}) };
    if (result.code === "INSUFFICIENT_FUNDS") details.asset = p.rows[0]!.lockAsset;
    const retryAfter =
      result.retryAfterMs === undefined
        ? undefined
        : String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
    if (retryAfter) details.retry_after_seconds = retryAfter;
    throw new AppError(
      status,
      code,
      result.message,
      details,
      retryAfter ? { "Retry-After": retryAfter } : undefined,
    );
  }
  // A retry: the rows are the first attempt's, read back (the rows built now have other times).
  if (result.duplicate && !db) throw new Error("placementAnswer: a replay needs the database");
  const rows = result.duplicate
    ? await db!
        .select()
        .from(orders)
        .where(p.rows[1] ? eq(orders.ocoGroupId, id) : eq(orders.id, id))
    : p.rows.map(recordedRow);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const reports = result.orders ?? (result.order ? [result.order] : []);
  const legs = p.rows.map((r, i) =>
    withReport(toOrderView(byId.get(r.id) ?? recordedRow(r), rules), rules, reports[i]),
  );
  const fills = (result.fills ?? []).map((f) => toFillView(rules, p.side, f));
  return p.rows[1] ? { order: legs[0]!, orders: legs, fills } : { order: legs[0]!, fills };
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
  const [result] = await sendToBook(env, rules, [placement.command], traceparent);
  return placementAnswer(db, placement, result!);
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
