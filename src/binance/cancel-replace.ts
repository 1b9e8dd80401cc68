import { z } from "@hono/zod-openapi";
import type { BinanceCaller } from "./caller";
import { BinanceError, eitherMandatory, toBinanceError, unknownOrderCancel } from "./binance-errors";
import { cancelAndReport, namedOrder, newOrder } from "./order-actions";
import { ClientOrderId, NewOrderParams, toPlaceOrder } from "./order-params";
import { P } from "./params";
import { marketRulesOf } from "./symbols";

/** POST /api/v3/order/cancelReplace: the new order's parameters plus which order to cancel and how. */
export const CancelReplaceParams = NewOrderParams.extend({
  cancelReplaceMode: z.enum(["STOP_ON_FAILURE", "ALLOW_FAILURE"]),
  cancelNewClientOrderId: ClientOrderId.optional(),
  cancelOrigClientOrderId: ClientOrderId.optional(),
  cancelOrderId: P.int.optional(),
  cancelRestrictions: z.enum(["ONLY_NEW", "ONLY_PARTIALLY_FILLED"]).optional(),
  orderRateLimitExceededMode: z.enum(["DO_NOTHING", "CANCEL_ONLY"]).optional(),
});

export type CancelReplace = z.infer<typeof CancelReplaceParams>;

type Outcome<T> = { ok: true; reply: T } | { ok: false; error: BinanceError };

const attempt = async <T>(work: () => Promise<T>): Promise<Outcome<T>> => {
  try {
    return { ok: true, reply: await work() };
  } catch (err) {
    return { ok: false, error: toBinanceError(err) };
  }
};

const errorBody = (e: BinanceError) => ({ code: e.code, msg: e.message });

/** The statuses `cancelRestrictions` lets a cancel through (Binance's NEW is our pending or new). */
const RESTRICTED: Record<string, string[]> = {
  ONLY_NEW: ["pending", "new"],
  ONLY_PARTIALLY_FILLED: ["partially_filled"],
};

/**
 * Cancels an order, then places a new one (two steps, as on Binance; not atomic). With
 * STOP_ON_FAILURE a failed cancel places nothing (400, -2022); with ALLOW_FAILURE the new order
 * is tried anyway. One step failing is 409 with -2021, both 400 with -2022, each with Binance's
 * `data` (`cancelResult`, `newOrderResult`, `cancelResponse`, `newOrderResponse`). The new
 * order's parameters are checked before anything is cancelled (-1102, -1100 … as POST /order).
 * The cancel settles the market in the request: the caller relays its events after answering.
 */
export async function cancelReplace(caller: BinanceCaller, p: CancelReplace) {
  if (p.cancelOrderId === undefined && p.cancelOrigClientOrderId === undefined) {
    throw eitherMandatory("cancelOrderId", "cancelOrigClientOrderId");
  }
  const rules = await marketRulesOf(caller.db, p.symbol);
  toPlaceOrder(p, rules.symbol);
  const cancel = await attempt(async () => {
    const row = await namedOrder(
      caller,
      { ...p, orderId: p.cancelOrderId, origClientOrderId: p.cancelOrigClientOrderId },
      rules,
    );
    if (!row) throw unknownOrderCancel();
    const restriction = p.cancelRestrictions && RESTRICTED[p.cancelRestrictions];
    if (restriction && !restriction.includes(row.status)) {
      throw new BinanceError(400, -2011, "Order was not canceled due to cancel restrictions.");
    }
    return cancelAndReport(caller, row, rules, p.cancelNewClientOrderId);
  });
  if (!cancel.ok && p.cancelReplaceMode === "STOP_ON_FAILURE") {
    throw new BinanceError(400, -2022, "Order cancel-replace failed.", undefined, {
      cancelResult: "FAILURE",
      newOrderResult: "NOT_ATTEMPTED",
      cancelResponse: errorBody(cancel.error),
      newOrderResponse: null,
    });
  }
  const placed = await attempt(() => newOrder(caller, p));
  const data = {
    cancelResult: cancel.ok ? "SUCCESS" : "FAILURE",
    newOrderResult: placed.ok ? "SUCCESS" : "FAILURE",
    cancelResponse: cancel.ok ? cancel.reply : errorBody(cancel.error),
    newOrderResponse: placed.ok ? placed.reply : errorBody(placed.error),
  };
  if (cancel.ok && placed.ok) return data;
  if (cancel.ok || placed.ok) {
    throw new BinanceError(409, -2021, "Order cancel-replace partially failed.", undefined, data);
  }
  throw new BinanceError(400, -2022, "Order cancel-replace failed.", undefined, data);
}
