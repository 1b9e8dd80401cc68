import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, unprocessable } from "../../lib/errors";
import { derivedUuid } from "../../lib/derived-id";
import { formatUnits } from "../../lib/money";
import type { PlacementFunding, PlaceCommand, PlaceOcoCommand } from "./commands";
import type { MarketRules } from "./market-rules";
import { newOrderId } from "./order-id";
import {
  prepareOco,
  prepareOrder,
  type OcoInput,
  type OrderInput,
  type OrderType,
  type PreparedOrder,
} from "./order-input";
import type { FillView, OrderView, UnnumberedOrderRow } from "./order-view";

// A placement checked against its market's rules, once, into what the market's object takes:
// the Worker (REST, batch) and the object (socket order entry) both prepare orders here.

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

export type OrderValues = ReturnType<typeof rowValues>;

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

const minor = (x: bigint | null) => (x === null ? null : x.toString());

/** The row as `place_orders` inserts it (Postgres column names; minor units as strings). */
function fundingRow(v: OrderValues): PlacementFunding["rows"][number] {
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

/**
 * The row as Postgres holds it once `place_orders` recorded it, made when the answer is: the
 * values above live as long as the placement waits for its lock (they survive collections),
 * this only until the answer is shaped. Every field is named, so it is made at its full size
 * at once: a copy (`...v`) grew its property store field by field for the ten added here.
 */
export function recordedRow(v: OrderValues): UnnumberedOrderRow {
  return {
    id: v.id,
    userId: v.userId,
    market: v.market,
    clientOrderId: v.clientOrderId,
    side: v.side,
    type: v.type,
    timeInForce: v.timeInForce,
    postOnly: v.postOnly,
    selfTradePrevention: v.selfTradePrevention,
    price: v.price,
    stopPrice: v.stopPrice,
    quantity: v.quantity,
    quoteQuantity: v.quoteQuantity,
    visibleQuantity: v.visibleQuantity,
    trailingOffset: v.trailingOffset,
    trailingOffsetUnit: v.trailingOffsetUnit,
    ocoGroupId: v.ocoGroupId,
    status: v.status,
    lockAsset: v.lockAsset,
    lockedAmount: v.lockedAmount,
    createdAt: v.createdAt,
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
  };
}

type Details = Readonly<Record<string, unknown>>;

/** By market, side and type: a few dozen at most (configured markets × 2 × 5). */
const SINGLE_ORDER_DETAILS = new Map<string, Map<string, Map<string, Details>>>();

/**
 * The audit details of a single order, one frozen object per market, side and type: the funds
 * lock sends each distinct details object once a flush (durable-objects/market/lock-params.ts),
 * and a shared one is recognised without serialising it again for every order. Looked up level
 * by level: a key joined from the three strings cost more than the object it saves.
 */
function singleOrderDetails(market: string, side: string, type: string): Details {
  let bySide = SINGLE_ORDER_DETAILS.get(market);
  if (!bySide) SINGLE_ORDER_DETAILS.set(market, (bySide = new Map()));
  let byType = bySide.get(side);
  if (!byType) bySide.set(side, (byType = new Map()));
  let details = byType.get(type);
  if (!details) byType.set(type, (details = Object.freeze({ market, side, type })));
  return details;
}

function funding(
  principal: Principal,
  rows: OrderValues[],
  lock: { asset: string; amount: bigint },
  details: Details,
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
      // Built here from known fields (market, side, type, ids): nothing to redact.
      details,
    },
  };
}

/**
 * The object's place command. `trailing_offset` is whole ticks (or bps) in the API; the object
 * takes a tick offset as a price distance, so it is converted here.
 */
function bookCommand(
  id: string,
  principal: Principal,
  req: SingleOrderRequest,
  rules: MarketRules,
  prepared: PreparedOrder,
  funded: PlacementFunding,
): PlaceCommand {
  const trailing =
    prepared.trailingOffset === null
      ? undefined
      : prepared.trailingOffsetUnit === "bps"
        ? String(prepared.trailingOffset)
        : formatUnits(BigInt(prepared.trailingOffset) * rules.tickSize, rules.quoteDecimals);
  return {
    kind: "place",
    orderId: id,
    clientOrderId: req.client_order_id,
    userId: principal.userId,
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
    funding: funded,
    limits: principal.orderLimits,
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
 * object needs. `orderId`: the id to use (an idempotent retry passes the first attempt's);
 * `at`: the rows' creation time (a socket frame's placements share one).
 */
export function preparePlacement(
  rules: MarketRules,
  principal: Principal,
  req: PlaceOrderRequest,
  metadata: RequestMetadata,
  orderId: string = newOrderId(),
  at: Date = new Date(),
): BookPlacement {
  const userId = principal.userId;
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
  const details = singleOrderDetails(req.market, req.side, req.type);
  return {
    rules,
    side: req.side,
    rows,
    command: bookCommand(
      orderId,
      principal,
      single,
      rules,
      prepared,
      funding(principal, rows, prepared.lock, details, metadata),
    ),
  };
}
