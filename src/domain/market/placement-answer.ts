import { eq } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import { AppError, ErrorCode } from "../../lib/errors";
import { reprintAmount } from "./amount-format";
import type { CommandResult, OrderReport } from "./commands";
import type { MarketRules } from "./market-rules";
import { toFillView, toOrderView, type OrderView, type UnnumberedOrderRow } from "./order-view";
import { recordedRow, type BookPlacement, type PlaceOrderResult } from "./placement";

// The market object's answer to a placement as the API replies it: REST, batch and socket alike.

/** The book's refusals for the market's status and price band, as the API answers them (placements and amends). */
export const MARKET_RULE_ERRORS: Record<string, [409 | 422, string]> = {
  MARKET_HALTED: [409, ErrorCode.MARKET_HALTED],
  MARKET_CANCEL_ONLY: [409, ErrorCode.MARKET_CANCEL_ONLY],
  PERCENT_PRICE: [422, ErrorCode.PERCENT_PRICE],
  MAX_OPEN_ORDERS: [422, ErrorCode.MAX_OPEN_ORDERS],
};

const BOOK_ERRORS: Record<string, [409 | 422 | 429 | 503, string]> = {
  ...MARKET_RULE_ERRORS,
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
  if (!result.ok || !result.duplicate) return bookAnswer(p, result);
  // A retry: the rows are the first attempt's, read back (the rows built now have other times).
  if (!db) throw new Error("placementAnswer: a replay needs the database");
  const id = p.rows[0]!.id;
  const stored = await db
    .select()
    .from(orders)
    .where(p.rows[1] ? eq(orders.ocoGroupId, id) : eq(orders.id, id));
  return answerOf(p, result, new Map(stored.map((r) => [r.id, r])));
}

/**
 * `placementAnswer` of a result that is not a replay, without a promise: the market socket
 * answers thousands a second on the object's one thread.
 */
export function bookAnswer(p: BookPlacement, result: CommandResult): PlaceOrderResult {
  if (!result.ok) throw refusal(p, result);
  if (result.duplicate) throw new Error("bookAnswer: a replay needs the database (placementAnswer)");
  return answerOf(p, result, null);
}

function refusal(p: BookPlacement, result: Extract<CommandResult, { ok: false }>): AppError {
  const [status, code] = BOOK_ERRORS[result.code] ?? [422, ErrorCode.ORDER_REJECTED];
  const details: Record<string, string> =
    result.code === "DUPLICATE_CLIENT_ORDER_ID"
      ? result.orderId
        ? { order_id: result.orderId }
        : {}
      : {
          reason: result.code,
          order_id: p.rows[0]!.id,
          ...(p.rows[1] ? { stop_order_id: p.rows[1].id } : {}),
        };
  if (result.code === "INSUFFICIENT_FUNDS") details.asset = p.rows[0]!.lockAsset;
  const retryAfter =
    result.retryAfterMs === undefined
      ? undefined
      : String(Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
  if (retryAfter) details.retry_after_seconds = retryAfter;
  return new AppError(
    status,
    code,
    result.message,
    details,
    retryAfter ? { "Retry-After": retryAfter } : undefined,
  );
}

/** The reply from the rows built for the placement, or from `stored` ones (a replay). */
function answerOf(
  p: BookPlacement,
  result: Extract<CommandResult, { ok: true }>,
  stored: ReadonlyMap<string, UnnumberedOrderRow> | null,
): PlaceOrderResult {
  const { rules } = p;
  const reports = result.orders ?? (result.order ? [result.order] : []);
  const legs = p.rows.map((r, i) =>
    withReport(toOrderView(stored?.get(r.id) ?? recordedRow(r), rules), rules, reports[i]),
  );
  const fills = (result.fills ?? []).map((f) => toFillView(rules, p.side, f));
  return p.rows[1] ? { order: legs[0]!, orders: legs, fills } : { order: legs[0]!, fills };
}

/** The book's answer is ahead of settlement: show its status and filled quantity. */
function withReport(view: OrderView, rules: MarketRules, report: OrderReport | undefined): OrderView {
  if (!report) return view;
  const { remainingQuantity } = report;
  view.status = report.status;
  view.filled_quantity = reprintAmount(report.filledQuantity, rules.baseDecimals);
  view.remaining_quantity =
    remainingQuantity === null ? null : reprintAmount(remainingQuantity, rules.baseDecimals);
  return view;
}

export type BatchItemResult =
  PlaceOrderResult | { error: { code: string; message: string; details?: unknown } };

/** A refused order as its batch entry (anything but a refusal is rethrown). */
export const batchItemError = (err: unknown): BatchItemResult => {
  if (!(err instanceof AppError)) throw err;
  return {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
  };
};
