import type { BookOrderRow } from "./batch";
import type { OrderLookup, OutboxEntry } from "../../src/domain/market/commands";
import type { MarketState } from "./event-translation";
import { isIdString } from "./order-ids";

// Queries about orders: what the book knows of an id (uncertain calls, cancels by client id),
// a user's live orders (the `orders` channel's snapshot) and every live id (reconciliation).

export function lookupOrder(
  m: MarketState,
  query: { orderId?: string; clientOrderId?: string; userId?: string },
): OrderLookup {
  let row: BookOrderRow | null = null;
  if (isIdString(query.orderId)) row = m.ids.stored(query.orderId);
  else if (isIdString(query.clientOrderId)) row = m.ids.byClientOrderId(query.clientOrderId, query.userId);
  if (!row) return { known: false };
  const view = m.engine.getOrder(row.num);
  const grid = m.rules?.grid;
  return {
    known: true,
    orderId: row.orderId,
    clientOrderId: row.clientOrderId,
    userId: row.userId,
    placement: row.result,
    live:
      view && grid
        ? {
            price: view.price ? grid.price(view.price) : null,
            quantity: grid.quantity(view.quantity),
            filled: grid.quantity(view.filled),
            remaining: grid.quantity(view.remaining),
            status: view.status,
          }
        : null,
  };
}

/** The user's live orders in this market, as order reports. */
export function openOrdersOf(m: MarketState, userId: string): OutboxEntry[] {
  const num = m.ids.userNum(userId);
  if (num === undefined || !m.rules) return [];
  const grid = m.rules.grid;
  return m.engine.openOrders(num).map((v) => ({
    seq: m.counters.outboxSeq,
    kind: "order" as const,
    ts: Date.now(),
    event: "accepted" as const,
    orderId: m.ids.ref(v.orderId).orderId,
    userId,
    market: m.symbol,
    status: v.filled > 0 ? ("partially_filled" as const) : ("new" as const),
    price: v.price ? grid.price(v.price) : undefined,
    quantity: grid.quantity(v.quantity),
    remaining: grid.quantity(v.remaining),
    filled: grid.quantity(v.filled),
  }));
}
