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
/** `NO_METADATA` as JSON.stringify writes it, closing the envelope. */
const NO_METADATA_TAIL = `,"metadata":${JSON.stringify(NO_METADATA)}}`;
const NODE_SPAN = 2n ** 48n;
const NODE_SPAN_NUMBER = 2 ** 48;
/** A page id's last part that a double holds exactly (13 hex digits, plus `n`, stay under 2^53). */
const SHORT_HEX = /^[0-9a-fA-F]{1,13}$/;

/**
 * Event `n` of a page: the page's id with `n` added to its last 48 bits. The same for every
 * relay of the row (consumers dedupe on it), unique beside other pages' (their ids share no
 * 74 random bits).
 */
export function eventId(pageId: string, n: number): string {
  const node = (BigInt(`0x${pageId.slice(24)}`) + BigInt(n)) % NODE_SPAN;
  return pageId.slice(0, 24) + node.toString(16).padStart(12, "0");
}

/** `eventId(pageId, n)` for each `n`, in doubles when the id's tail fits one (BigInts cost ~1 µs an event). */
function eventIds(pageId: string): (n: number) => string {
  const tail = typeof pageId === "string" ? pageId.slice(24) : "";
  if (!SHORT_HEX.test(tail)) return (n) => eventId(pageId, n);
  const head = pageId.slice(0, 24);
  const base = parseInt(tail, 16);
  return (n) => head + ((base + n) % NODE_SPAN_NUMBER).toString(16).padStart(12, "0");
}

const isText = (v: unknown): v is string => typeof v === "string";
const q = JSON.stringify as (v: string) => string;

/** The page's events as the envelopes one row per event held before, in the same order. */
export function expandSettledPage(page: SettledPage): EventEnvelope[] {
  return readSettledPage(page, false).envelopes;
}

/**
 * The page's envelopes and each one's text as published: exactly `JSON.stringify(envelope)`,
 * written from the page's strings (stringifying the envelopes was most of the relay's own CPU).
 * An event with a value that is not a string (a malformed page) is stringified whole.
 */
export function settledPageEvents(page: SettledPage): { envelopes: EventEnvelope[]; texts: string[] } {
  return readSettledPage(page, true);
}

function readSettledPage(page: SettledPage, withTexts: boolean) {
  const envelopes: EventEnvelope[] = [];
  const texts: string[] = [];
  const { market, timestamp } = page;
  const id = eventIds(page.id);
  const head = isText(timestamp) ? `,"timestamp":${q(timestamp)},"user_id":` : undefined;
  /** `payload` is the payload's JSON when every value in it is a string, else undefined. */
  const add = (type: string, userId: string, payload: Record<string, unknown>, text: string | undefined) => {
    const envelope: EventEnvelope = {
      id: id(envelopes.length),
      type,
      timestamp,
      user_id: userId,
      payload,
      metadata: NO_METADATA,
    };
    envelopes.push(envelope);
    if (!withTexts) return;
    texts.push(
      text !== undefined && head !== undefined && isText(type) && isText(userId)
        ? `{"id":${q(envelope.id)},"type":${q(type)}${head}${q(userId)},"payload":${text}${NO_METADATA_TAIL}`
        : JSON.stringify(envelope),
    );
  };
  const m = isText(market) ? q(market) : undefined;
  for (const e of page.events) {
    const type = e[0] as string;
    if (type === "trade.executed") {
      const [, tradeId, price, quantity, takerSide, buyId, buyerId, sellId, sellerId] = e as string[];
      const trade = { market, trade_id: tradeId, price, quantity, taker_side: takerSide };
      const t =
        m !== undefined && isText(tradeId) && isText(price) && isText(quantity) && isText(takerSide)
          ? `{"market":${m},"trade_id":${q(tradeId)},"price":${q(price)},"quantity":${q(quantity)},"taker_side":${q(takerSide)},"order_id":`
          : undefined;
      const side = (orderId: unknown, s: string) =>
        t !== undefined && isText(orderId) ? `${t}${q(orderId)},"side":"${s}"}` : undefined;
      add(type, buyerId!, { ...trade, order_id: buyId, side: "buy" }, side(buyId, "buy"));
      add(type, sellerId!, { ...trade, order_id: sellId, side: "sell" }, side(sellId, "sell"));
    } else if (type === "order.accepted") {
      const orderId = e[2];
      add(
        type,
        e[1] as string,
        { order_id: orderId, market },
        m !== undefined && isText(orderId) ? `{"order_id":${q(orderId)},"market":${m}}` : undefined,
      );
    } else {
      const [, userId, orderId, status, reason] = e as (string | null)[];
      const plain =
        m !== undefined && isText(orderId) && isText(status) && (reason === null || isText(reason));
      add(
        type,
        userId!,
        { order_id: orderId, market, status, ...(reason ? { reason } : {}) },
        plain
          ? `{"order_id":${q(orderId)},"market":${m},"status":${q(status)}${reason ? `,"reason":${q(reason)}` : ""}}`
          : undefined,
      );
    }
  }
  return { envelopes, texts };
}
