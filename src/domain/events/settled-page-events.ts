import type { EventEnvelope } from "./event-outbox";

/**
 * The events of one settled page as `settle_page` stores them (migrations/0018_settle_page_flat.sql):
 * ONE event_outbox row per page instead of one per event (a sixth of settlement's Postgres
 * cost was those rows, and the relay's update of each). Each element is one entry's events:
 * - `["order.accepted", user, order]`
 * - `["trade.executed", trade, price, quantity, taker side, buy order, buyer, sell order, seller]`
 *   (two events: the buyer's, then the seller's)
 * - `["order.filled" | "order.cancelled", user, order, status, reason | null]`
 */
export interface SettledPage {
  /** The page's own id; each event's is derived from it (`eventId`). */
  id: string;
  timestamp: string;
  market: string;
  events: unknown[][];
}

// One object shared by every envelope of every page: frozen, so no consumer can change them all.
const NO_METADATA = Object.freeze({ ip_address: null, user_agent: null, request_id: null });
const NODE_SPAN = 2n ** 48n;

/**
 * Event `n` of a page: the page's id with `n` added to its last 48 bits. The same for every
 * relay of the row (consumers dedupe on it), unique beside other pages' (their ids share no
 * 74 random bits).
 */
export function eventId(pageId: string, n: number): string {
  const node = (BigInt(`0x${pageId.slice(24)}`) + BigInt(n)) % NODE_SPAN;
  return pageId.slice(0, 24) + node.toString(16).padStart(12, "0");
}

/**
 * The page's events as the envelopes one row per event held before, in the same order: every
 * one, or only those of the users in `only` (their ids the same: event n is n of the page).
 */
export function expandSettledPage(page: SettledPage, only?: ReadonlySet<string>): EventEnvelope[] {
  const out: EventEnvelope[] = [];
  const { market, timestamp } = page;
  let n = 0;
  const add = (type: string, userId: string, payload: () => Record<string, unknown>) => {
    const id = eventId(page.id, n++);
    if (only && !only.has(userId)) return;
    out.push({ id, type, timestamp, user_id: userId, payload: payload(), metadata: NO_METADATA });
  };
  for (const e of page.events) {
    const type = e[0] as string;
    if (type === "trade.executed") {
      const [, tradeId, price, quantity, takerSide, buyId, buyerId, sellId, sellerId] = e as string[];
      const trade = () => ({ market, trade_id: tradeId, price, quantity, taker_side: takerSide });
      add(type, buyerId!, () => ({ ...trade(), order_id: buyId, side: "buy" }));
      add(type, sellerId!, () => ({ ...trade(), order_id: sellId, side: "sell" }));
    } else if (type === "order.accepted") {
      add(type, e[1] as string, () => ({ order_id: e[2], market }));
    } else {
      const [, userId, orderId, status, reason] = e as (string | null)[];
      add(type, userId!, () => ({ order_id: orderId, market, status, ...(reason ? { reason } : {}) }));
    }
  }
  return out;
}

/** Adds to `into` the users of the page's events of the types `accept` takes, building no envelope. */
export function settledPageUsers(
  page: SettledPage,
  accept: (type: string) => boolean,
  into: Set<string>,
): void {
  for (const e of page.events) {
    if (!accept(e[0] as string)) continue;
    const users = e[0] === "trade.executed" ? [e[6], e[8]] : [e[1]];
    for (const user of users) if (typeof user === "string") into.add(user);
  }
}
