import { and, eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { Principal } from "../../http/principal";
import type { RequestMetadata } from "../../http/request-metadata";
import { AppError, ErrorCode, notFound, serviceUnavailable } from "../../lib/errors";
import { formatUnits } from "../../lib/money";
import { recordAudit } from "../audit-log";
import type { CommandResult } from "./commands";
import type { MarketRules } from "./market-rules";
import { buyLock, prepareAmend, type PreparedAmend } from "./order-input";
import { moveOrderLock } from "./order-lock-move";
import { toFillView, toOrderView, type FillView, type OrderRow, type OrderView } from "./order-view";
import { assertMayTrade } from "./placement";
import { MARKET_RULE_ERRORS } from "./placement-answer";
import { buyNeed } from "../settlement/fills";
import { isFinal, type OrderStatus } from "../settlement/plan";
import { settleMarket, type OutboxSource } from "../settlement/settle-market";

/** How long an amendment holds its order against another one (a lapsed hold is taken over). */
export const AMEND_HOLD_MS = 30_000;

export interface AmendOrderRequest {
  price?: string;
  /** The new total quantity, filled part included. */
  quantity?: string;
}

export interface AmendOrderResult {
  order: OrderView;
  fills: FillView[];
}

/** The change the market's object takes for an amendment (decimal strings; the hold's id and end). */
export interface BookAmendment {
  userId: string;
  amendId: string;
  expiresAt: number;
  price?: string;
  quantity?: string;
}

/**
 * The market an order lives in, as the amendment needs it: its rules, its object's outbox (to
 * settle) and the object's amend command. The Worker reaches the object over RPC; the object's
 * own socket order entry calls itself directly.
 */
export interface AmendMarket {
  rules: MarketRules;
  outbox: OutboxSource;
  amend(orderId: string, change: BookAmendment): Promise<CommandResult>;
}

const notOpen = (status: string) =>
  new AppError(409, ErrorCode.ORDER_NOT_OPEN, `The order is ${status}: only open orders can be amended`);

const BOOK_ERRORS: Record<string, [409 | 422, string]> = {
  ...MARKET_RULE_ERRORS,
  NOT_AMENDABLE: [409, ErrorCode.ORDER_NOT_AMENDABLE],
  UNKNOWN_ORDER: [409, ErrorCode.ORDER_NOT_OPEN],
  ORDER_NOT_FOUND: [409, ErrorCode.ORDER_NOT_OPEN],
  // The call reached the book after the hold lapsed (another amendment may own the order now).
  AMEND_EXPIRED: [409, ErrorCode.AMEND_IN_PROGRESS],
};

/**
 * What the order must still hold after the amendment, over what it consumed: for a sell the
 * remaining base; for a buy the remaining quantity at the higher of the old and new prices,
 * rounded up. The higher price because fills the book made before the amendment and settlement
 * has not recorded yet were at up to the old price (a fill never raises this bound at its own
 * price: ⌊p·q⌋ + ⌈P·(R−q)⌉ ≤ ⌈P·R⌉ for p ≤ P).
 */
function stillNeeded(rules: MarketRules, row: OrderRow, amend: PreparedAmend): bigint {
  const remaining = amend.quantity - row.filledQuantity;
  if (row.side === "sell") return remaining;
  const ticks = Math.max(Number(row.price! / rules.tickSize), amend.priceTicks);
  return buyLock(rules, ticks, Number(remaining / rules.lotSize));
}

/**
 * Amends one of the caller's open limit orders (new price and/or total quantity; the book keeps
 * time priority only for a pure quantity decrease). Another user's id is a 404 and touches
 * nothing; a closed order is a 409; the new values are validated like a placement.
 *
 * Funds: an amendment that may need more locks the difference BEFORE the book sees it
 * (`order.amend_lock`, INSUFFICIENT_FUNDS → 422 with the order unchanged); one that needs less
 * releases the difference once the book confirmed it, through settlement of its `amended`
 * outbox entry (exactly down to what the remaining quantity can still consume), which runs in
 * this request. A refusal by the book gives the added lock back (`order.amend_unlock`). One
 * amendment at a time per order (409 AMEND_IN_PROGRESS): the hold keeps settlement of an
 * earlier amendment from releasing what a later one locked.
 */
export async function amendOrder(
  db: Database,
  marketOf: (symbol: string) => Promise<AmendMarket>,
  principal: Principal,
  orderId: string,
  req: AmendOrderRequest,
  metadata: RequestMetadata,
): Promise<AmendOrderResult> {
  assertMayTrade(principal);
  const userId = principal.userId;
  const [row] = await db
    .select()
    .from(orders)
    .where(and(eq(orders.id, orderId), eq(orders.userId, userId)));
  if (!row) throw notFound("Order");
  if (isFinal(row.status as OrderStatus) || row.status === "pending") throw notOpen(row.status);
  if (row.ocoGroupId !== null || row.price === null || row.quantity === null) {
    throw new AppError(
      409,
      ErrorCode.ORDER_NOT_AMENDABLE,
      row.ocoGroupId !== null
        ? "An OCO leg cannot be amended: cancel the pair and place a new one"
        : `A ${row.type} order cannot be amended`,
    );
  }
  const market = await marketOf(row.market);
  const { rules, outbox } = market;
  const amend = prepareAmend(
    rules,
    { price: row.price, quantity: row.quantity, filled: row.filledQuantity },
    req,
  );
  const amendId = crypto.randomUUID();
  // Another amendment holds (or held) the order: whatever it did in the book, which it could
  // until its hold lapsed, is settled first, so what this one locks counts from the book's state.
  if (row.amendId !== null) await settleMarket(db, outbox, rules, { wait: true });
  const expiresAt = Date.now() + AMEND_HOLD_MS;

  // 1. Hold the order and lock what the amendment may need beyond what the order holds.
  const added = await db.transaction(async (tx) => {
    const [r] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
    if (!r || isFinal(r.status as OrderStatus)) throw notOpen(r?.status ?? "closed");
    if (r.amendId !== null && r.amendExpiresAt !== null && r.amendExpiresAt.getTime() > Date.now()) {
      throw new AppError(409, ErrorCode.AMEND_IN_PROGRESS, "Another amendment of this order is in flight");
    }
    const outstanding = r.lockedAmount - r.consumedAmount - r.releasedAmount;
    const more = stillNeeded(rules, r, amend) - outstanding;
    const amount = more > 0n ? more : 0n;
    const move = {
      kind: "lock",
      amount,
      type: "order.amend_lock",
      reference: `${orderId}:${amendId}`,
    } as const;
    await moveOrderLock(tx, r, move, { amendId, amendExpiresAt: new Date(expiresAt) });
    return amount;
  });

  // 2. The book. An uncertain call leaves the hold (it lapses) and the added lock (released by
  //    settlement of the `amended` entry if the book took it, or when the order closes).
  // The book refuses the call once the hold has lapsed: past then, another amendment may hold
  // the order, and settlement no longer keeps what this one locked (see `planSettlement`).
  const change: BookAmendment = {
    userId,
    amendId,
    expiresAt,
    ...(req.price === undefined ? {} : { price: formatUnits(amend.price, rules.quoteDecimals) }),
    ...(req.quantity === undefined ? {} : { quantity: formatUnits(amend.quantity, rules.baseDecimals) }),
  };
  let result: CommandResult;
  try {
    result = await market.amend(orderId, change);
  } catch {
    throw serviceUnavailable(
      "The order book did not answer; the amendment may or may not have been applied",
      {
        order_id: orderId,
      },
    );
  }

  if (!result.ok) {
    await undoAmendLock(db, rules, orderId, amendId, added);
    const [status, code] = BOOK_ERRORS[result.code] ?? [422, ErrorCode.ORDER_REJECTED];
    throw new AppError(status, code, result.message, { reason: result.code, order_id: orderId });
  }

  // 3. Settle: the `amended` entry releases what the order no longer needs, and clears the hold.
  await settleMarket(db, outbox, rules, { maxBatches: 5, wait: true });
  await recordAudit(db, {
    actorId: userId,
    actorType: principal.via === "api_key" ? "api_key" : "user",
    action: "order.amend",
    resourceType: "order",
    resourceId: orderId,
    details: { market: row.market, price: change.price ?? null, quantity: change.quantity ?? null },
    metadata,
  });
  const [after] = await db.select().from(orders).where(eq(orders.id, orderId));
  return {
    order: toOrderView(after!, rules),
    fills: (result.fills ?? []).map((f) => toFillView(rules, row.side, f)),
  };
}

/**
 * The book refused the amendment: give back what step 1 locked, as far as the order does not
 * need it, and drop the hold. Nothing when another amendment has taken the order over (its own
 * lock was computed counting this one's, and its settlement releases any excess) or the order
 * has closed (its close released everything it held, this included). "As far as the order does
 * not need it": an amended entry settled after the hold lapsed may have released part of it
 * already; what the order needs is read from Postgres (unsettled fills only make that larger).
 */
async function undoAmendLock(
  db: Database,
  rules: MarketRules,
  orderId: string,
  amendId: string,
  added: bigint,
): Promise<void> {
  await db.transaction(async (tx) => {
    const [r] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
    if (!r || r.amendId !== amendId) return;
    const outstanding = r.lockedAmount - r.consumedAmount - r.releasedAmount;
    const spare = isFinal(r.status as OrderStatus) ? 0n : outstanding - neededNow(rules, r);
    const release = added < spare ? added : spare > 0n ? spare : 0n;
    const move = {
      kind: "release",
      amount: release,
      type: "order.amend_unlock",
      reference: `${orderId}:${amendId}`,
    } as const;
    await moveOrderLock(tx, r, move, { amendId: null, amendExpiresAt: null });
  });
}

/** What the order's remaining quantity can still consume, as Postgres knows it. */
function neededNow(rules: MarketRules, row: OrderRow): bigint {
  const remaining = row.quantity! - row.filledQuantity;
  return row.side === "sell" ? remaining : buyNeed(rules, row.price!, remaining);
}
