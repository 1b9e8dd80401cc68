// The object's RPC contract: commands arrive with string ids and decimal strings (the Worker
// generates order ids, which makes placement idempotent) and results leave the same way.

import type { OrderLimitOverrides } from "./order-limits";
import type {
  OrderTypeName,
  SelfTradeName,
  SideName,
  TimeInForceName,
} from "../../../durable-objects/engine";

export interface PlaceCommand {
  kind: "place";
  /** Caller-generated, unique per market; placing a known id returns the original result. */
  orderId: string;
  clientOrderId?: string;
  userId: string;
  side: SideName;
  type: OrderTypeName;
  price?: string;
  quantity?: string;
  /** Market buy by quote amount. */
  quoteQuantity?: string;
  stopPrice?: string;
  /** A price distance for `ticks`, whole basis points for `bps`. */
  trailingOffset?: string;
  trailingOffsetUnit?: "ticks" | "bps";
  timeInForce?: TimeInForceName;
  postOnly?: boolean;
  selfTradePrevention?: SelfTradeName;
  /** Iceberg peak. */
  visibleQuantity?: string;
  /** The funds to lock and the rows to record before the book sees it (not journaled). */
  funding?: PlacementFunding;
  /** The caller's own order-entry limits (unset: the exchange's defaults). */
  limits?: OrderLimitOverrides;
  /** See `Replay`. */
  replay?: Replay;
}

/**
 * Whether a placement's first result is kept for a retry under the same id. The Worker's calls
 * are retried with the same ids (an uncertain call, an Idempotency-Key), so their results are
 * kept (the default); the market socket's own placements get fresh ids in the object and are
 * answered in place, never replayed, so only whether they were accepted is kept ("none"): the
 * result JSON is most of what a placement writes.
 */
export type Replay = "kept" | "none";

/**
 * One-cancels-the-other: a GTC limit leg (`orderId`, at `price`) and a stop leg (`stopOrderId`:
 * a stop_loss at `stopPrice`, or a stop_limit at `stopLimitPrice` when given), same side and
 * quantity. The first fill of either leg, the trigger of the stop leg or the cancel of either
 * cancels the other. Both ids are caller-generated; a known `orderId` returns the first result.
 */
export interface PlaceOcoCommand {
  kind: "place_oco";
  orderId: string;
  stopOrderId: string;
  /** The pair's client id, recorded on the limit leg. */
  clientOrderId?: string;
  userId: string;
  side: SideName;
  quantity: string;
  price: string;
  stopPrice: string;
  stopLimitPrice?: string;
  selfTradePrevention?: SelfTradeName;
  funding?: PlacementFunding;
  limits?: OrderLimitOverrides;
  replay?: Replay;
}

/**
 * What the object records in Postgres for a placement, in the same round trip as every other
 * placement of its flush (`place_orders`, migrations/0005): the order rows (column names and
 * values as Postgres takes them; minor units as integer strings), the funds to lock and the
 * audit row. It is built from the validated request (src/domain/market/placement.ts).
 */
export interface PlacementFunding {
  rows: Record<string, string | number | boolean | null>[];
  lock: { user_id: string; asset: string; amount: string };
  audit: {
    actor_id: string;
    actor_type: "user" | "api_key";
    ip_address: string | null;
    user_agent: string | null;
    request_id: string | null;
    /** Shared by the placements with the same details (placement.ts): never changed. */
    details: Readonly<Record<string, unknown>>;
  };
}

/**
 * `place_orders`' outcome for one placement (migrations/0027_place_orders_compact.sql; read by
 * durable-objects/market/funds-locker.ts). A lock carries its balance row as the flush left it
 * and that row's version, the same for every lock of the row in the flush.
 */
export type LockOutcome =
  | { outcome: "locked"; available: string; locked: string; version: string }
  | { outcome: "insufficient_funds" }
  | { outcome: "duplicate_order" }
  | { outcome: "duplicate_client_order_id"; order_id: string | null }
  | { outcome: "invalid_lock" };

export interface CancelCommand {
  kind: "cancel";
  orderId: string;
  /** When set, the order must belong to this user. */
  userId?: string;
}

export interface AmendCommand {
  kind: "amend";
  orderId: string;
  userId?: string;
  price?: string;
  /** New total quantity (filled part included). */
  quantity?: string;
  /** The caller's id for this amendment, echoed in its `amended` outbox entry. */
  amendId?: string;
  /**
   * When the amendment's hold on the order lapses (ms since the epoch): the book refuses the
   * amendment after that (AMEND_EXPIRED), because another amendment may have taken the order
   * over and settlement no longer protects what this one locked.
   */
  expiresAt?: number;
}

export interface CancelAllCommand {
  kind: "cancel_all";
  userId: string;
}

export type MarketCommand = PlaceCommand | PlaceOcoCommand | CancelCommand | AmendCommand | CancelAllCommand;

export type OrderStatusName = "new" | "partially_filled" | "filled" | "cancelled" | "expired" | "rejected";

export interface Fill {
  tradeId: string;
  price: string;
  quantity: string;
  liquidity: "maker" | "taker";
  counterOrderId: string;
  /** The caller's order that filled (an OCO reply carries fills of either leg). */
  orderId?: string;
}

export interface OrderReport {
  orderId: string;
  clientOrderId: string | null;
  userId: string;
  market: string;
  side: SideName;
  type: OrderTypeName;
  status: OrderStatusName;
  price: string | null;
  quantity: string | null;
  filledQuantity: string;
  remainingQuantity: string | null;
  /** Journal sequence of the command that produced this report. */
  seq: number;
  ts: number;
}

export interface CommandOk {
  ok: true;
  order?: OrderReport;
  /** place_oco: both legs, the limit leg first. */
  orders?: OrderReport[];
  fills?: Fill[];
  /** cancel_all: the ids cancelled. */
  cancelled?: string[];
  /** True when the order id was already known (a retry): the original result is returned. */
  duplicate?: boolean;
}

export interface CommandError {
  ok: false;
  code: string;
  message: string;
  duplicate?: boolean;
  /** The order a refusal points at (DUPLICATE_CLIENT_ORDER_ID: the one that has the id). */
  orderId?: string;
  /** TOO_MANY_ORDERS: when the window that refused frees up, in ms from now. */
  retryAfterMs?: number;
}

export type CommandResult = CommandOk | CommandError;

/**
 * One row of the settlement outbox, read in sequence order and acknowledged after commit.
 * `epoch`: the object's storage identity (see `Counters.epoch`), stamped when the row is written
 * (absent on rows written before epochs existed). The `*Minor` fields are the amounts in minor
 * units, fixed at match time so a later tick or lot change cannot alter them (absent on older
 * rows, which settle from the decimal strings).
 */
export type OutboxEntry =
  | {
      seq: number;
      kind: "trade";
      ts: number;
      epoch?: string;
      tradeId: string;
      market: string;
      price: string;
      quantity: string;
      priceMinor?: string;
      quantityMinor?: string;
      takerSide: SideName;
      takerOrderId: string;
      takerUserId: string;
      makerOrderId: string;
      makerUserId: string;
      makerFeeBps: number;
      takerFeeBps: number;
    }
  | {
      seq: number;
      kind: "order";
      ts: number;
      epoch?: string;
      event: "accepted" | "rejected" | "done" | "amended" | "triggered";
      orderId: string;
      userId: string;
      market: string;
      status?: OrderStatusName;
      reason?: string;
      price?: string;
      quantity?: string;
      remaining?: string;
      filled?: string;
      /** `amended`: price, total quantity and remaining quantity in minor units. */
      priceMinor?: string;
      quantityMinor?: string;
      remainingMinor?: string;
      /** `amended`: the amend command's `amendId`, when it had one. */
      amendId?: string;
    };

/** What the object knows about an order id (for uncertain calls). */
export interface OrderLookup {
  known: boolean;
  orderId?: string;
  clientOrderId?: string | null;
  userId?: string;
  /** The result the placement returned. */
  placement?: CommandResult;
  /** Present while the order rests in the book or waits as a stop. */
  live?: { price: string | null; quantity: string; filled: string; remaining: string; status: string } | null;
}
