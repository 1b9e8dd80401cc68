// Committed domain events (src/domain/events/event-outbox.ts envelopes) as Binance's user data stream
// events: `executionReport` for every order change and fill, `balanceUpdate` for deposits,
// withdrawals and adjustments, and `outboundAccountPosition` with the balances they left. What
// the envelopes do not carry (the order's fields, a fill's fee, the running totals) is read back
// from the records of account, which were committed before the event was.
import { asc, eq, inArray, or } from "drizzle-orm";
import type { AccountEvent } from "../../../durable-objects/account-stream/account-stream-protocol";
import type { Database } from "../../db/client";
import { assets, balances, orders, trades } from "../../db/schema";
import { formatUnits } from "../../lib/money";
import type { EventEnvelope } from "../../domain/events/event-outbox";
import { loadAllMarketRules } from "../../services/trading/market-directory";
import type { MarketRules } from "../../domain/market/market-rules";
import { toOrderView, type OrderRow, type TradeRow } from "../../domain/market/order-view";
import { isFinal } from "../../domain/settlement/plan";
import { listStatusEvent } from "../order-lists";
import { binanceOrder, tradeNumber } from "../views";

const ORDER_EVENTS = new Set([
  "order.accepted",
  "order.amended",
  "order.cancelled",
  "order.filled",
  "trade.executed",
]);
/** Wallet events and the sign of the free balance change each is (0: only the position). */
const WALLET_EVENTS: Record<string, 1 | -1 | 0> = {
  "deposit.credited": 1,
  "balance.adjusted": 1,
  "withdrawal.requested": -1,
  "withdrawal.rejected": 1,
  "withdrawal.cancelled": 1,
  "withdrawal.sent": 0,
};

const FINAL_STATUS: Record<string, string> = {
  cancelled: "CANCELED",
  expired: "EXPIRED",
  rejected: "REJECTED",
};
const REJECT_REASON: Record<string, string> = {
  INSUFFICIENT_FUNDS: "INSUFFICIENT_BALANCES",
  POST_ONLY_WOULD_TAKE: "WOULD_MATCH_IMMEDIATELY",
};

/** Whether events of the type are, with a user, private events that the stream carries. */
export function isAccountType(type: string): boolean {
  return ORDER_EVENTS.has(type) || type in WALLET_EVENTS;
}

/** Whether an envelope is one of a user's private events that the stream carries. */
export function isAccountEvent(e: EventEnvelope): boolean {
  return e.user_id !== null && isAccountType(e.type);
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** What one fill did to its order, with the order's totals through that fill. */
interface Execution {
  trade: TradeRow;
  side: "buy" | "sell";
  filled: bigint;
  filledQuote: bigint;
}

/** The trades of the orders, per order and side, with running totals (oldest first). */
function executions(rows: readonly TradeRow[], orderIds: ReadonlySet<string>): Map<string, Execution[]> {
  const out = new Map<string, Execution[]>();
  for (const trade of rows) {
    for (const [orderId, side] of [
      [trade.buyOrderId, "buy"],
      [trade.sellOrderId, "sell"],
    ] as const) {
      if (!orderIds.has(orderId)) continue;
      let list = out.get(orderId);
      if (!list) out.set(orderId, (list = []));
      const prev = list.at(-1);
      list.push({
        trade,
        side,
        filled: (prev?.filled ?? 0n) + trade.quantity,
        filledQuote: (prev?.filledQuote ?? 0n) + trade.quoteAmount,
      });
    }
  }
  return out;
}

/** Binance's `executionReport` of an order row and what just happened to it. */
function executionReport(
  row: OrderRow,
  rules: MarketRules,
  now: number,
  x: string,
  X: string,
  fill?: Execution,
  reject = "NONE",
  listId = -1,
) {
  const o = binanceOrder(toOrderView(row, rules), row.number, rules, listId);
  const base = (v: bigint) => formatUnits(v, rules.baseDecimals);
  const quote = (v: bigint) => formatUnits(v, rules.quoteDecimals);
  const t = fill?.trade;
  const onBook = (X === "NEW" || X === "PARTIALLY_FILLED") && o.isWorking && o.type !== "MARKET";
  const [filled, filledQuote] = fill
    ? [fill.filled, fill.filledQuote]
    : x === "NEW"
      ? [0n, 0n]
      : [row.filledQuantity, row.filledQuote];
  return {
    e: "executionReport",
    E: now,
    s: o.symbol,
    c: o.clientOrderId,
    S: o.side,
    o: o.type,
    f: o.timeInForce,
    q: o.origQty,
    p: o.price,
    P: o.stopPrice,
    F: o.icebergQty,
    g: o.orderListId,
    C: x === "CANCELED" ? o.clientOrderId : "",
    x,
    X,
    r: reject,
    i: row.number,
    l: t ? base(t.quantity) : base(0n),
    z: base(filled),
    L: t ? quote(t.price) : quote(0n),
    n: t ? (fill.side === "buy" ? base(t.buyerFee) : quote(t.sellerFee)) : "0",
    N: t ? (fill.side === "buy" ? rules.baseAsset : rules.quoteAsset) : null,
    T: t ? t.executedAt.getTime() : row.updatedAt.getTime(),
    t: t ? tradeNumber(t.tradeId) : -1,
    w: onBook,
    m: t ? t.takerSide !== fill.side : false,
    O: o.time,
    Z: quote(filledQuote),
    Y: t ? quote(t.quoteAmount) : quote(0n),
    Q: o.origQuoteOrderQty,
    W: o.workingTime,
    V: o.selfTradePreventionMode,
  };
}

/**
 * The reports of one order event. A fill's report must say FILLED when it ends the order, yet
 * the order's end ("done") may settle, and be relayed, in a later page than its last fill, so
 * neither report can wait for the other or read the order's status:
 * - an order of a base quantity is FILLED by the fill that reaches it, known from the fills
 *   alone; its `order.filled` adds nothing;
 * - a market order by quote amount ends when the book says so (its unspent quote buys no more
 *   lots), so its fills are reported only with its end, all in one page, the last saying how it
 *   ended. Such an order never rests, so its end follows its fills at once.
 */
function orderReports(
  e: EventEnvelope,
  row: OrderRow,
  rules: MarketRules,
  fills: readonly Execution[],
  now: number,
  listId?: number,
): object[] {
  const byQuote = row.quantity === null;
  const report = (x: string, X: string, fill?: Execution, reject?: string) =>
    executionReport(row, rules, now, x, X, fill, reject, listId);
  switch (e.type) {
    case "order.accepted":
      return [report("NEW", "NEW")];
    case "order.amended":
      return [report("REPLACED", binanceOrder(toOrderView(row, rules), row.number, rules).status)];
    case "order.filled":
      return byQuote
        ? fills.map((f, i) => report("TRADE", i === fills.length - 1 ? "FILLED" : "PARTIALLY_FILLED", f))
        : [];
    case "order.cancelled": {
      const X = FINAL_STATUS[str(e.payload.status) ?? "cancelled"] ?? "CANCELED";
      const reason = X === "REJECTED" ? (REJECT_REASON[str(e.payload.reason) ?? ""] ?? "NONE") : "NONE";
      const trades = byQuote ? fills.map((f) => report("TRADE", "PARTIALLY_FILLED", f)) : [];
      return [...trades, report(X, X, undefined, reason)];
    }
    case "trade.executed": {
      const fill = fills.find((f) => f.trade.tradeId === str(e.payload.trade_id));
      if (!fill || byQuote) return [];
      return [report("TRADE", fill.filled >= row.quantity! ? "FILLED" : "PARTIALLY_FILLED", fill)];
    }
  }
  return [];
}

/**
 * The Binance events of a page of committed envelopes, per user, in the envelopes' order; each
 * user's last event is followed by an `outboundAccountPosition` of the assets their events
 * touched. Ids are the envelopes' (the relay may deliver a page twice).
 */
export async function accountEventsOf(
  db: Database,
  envelopes: readonly EventEnvelope[],
  now = Date.now(),
): Promise<Map<string, AccountEvent[]>> {
  const mine = envelopes.filter(isAccountEvent);
  const out = new Map<string, AccountEvent[]>();
  if (mine.length === 0) return out;
  const orderIds = new Set(
    mine.flatMap((e) =>
      ORDER_EVENTS.has(e.type) && str(e.payload.order_id) ? [str(e.payload.order_id)!] : [],
    ),
  );
  const ids = [...orderIds];
  const [orderRows, tradeRows, rules] = ids.length
    ? await Promise.all([
        db.select().from(orders).where(inArray(orders.id, ids)),
        db
          .select()
          .from(trades)
          .where(or(inArray(trades.buyOrderId, ids), inArray(trades.sellOrderId, ids)))
          .orderBy(asc(trades.id)),
        loadAllMarketRules(db),
      ])
    : [[], [], []];
  const rowsById = new Map(orderRows.map((r) => [r.id, r]));
  const legsByList = await ocoLegs(db, orderRows);
  const rulesBySymbol = new Map(rules.map((r) => [r.symbol, r]));
  const fills = executions(tradeRows, orderIds);
  const touched = new Map<string, Set<string>>();
  const lastId = new Map<string, string>();
  for (const e of mine) {
    const userId = e.user_id!;
    let events = out.get(userId);
    if (!events) out.set(userId, (events = []));
    let assetsTouched = touched.get(userId);
    if (!assetsTouched) touched.set(userId, (assetsTouched = new Set()));
    lastId.set(userId, e.id);
    if (ORDER_EVENTS.has(e.type)) {
      const row = rowsById.get(str(e.payload.order_id) ?? "");
      const r = row && rulesBySymbol.get(row.market);
      if (!row || !r || row.userId !== userId) continue;
      assetsTouched.add(r.baseAsset).add(r.quoteAsset);
      const legs = row.ocoGroupId ? legsByList.get(row.ocoGroupId) : undefined;
      const listId = legs?.find((l) => l.id === row.ocoGroupId)?.number;
      orderReports(e, row, r, fills.get(row.id) ?? [], now, listId).forEach((report, i) =>
        events.push({ id: `${e.id}:${i}`, event: JSON.stringify(report) }),
      );
      if (legs) events.push(...listStatuses(e, row, legs, r, now));
      continue;
    }
    const asset = str(e.payload.asset);
    const amount = str(e.payload.amount);
    if (!asset || !amount) continue;
    assetsTouched.add(asset);
    const sign = WALLET_EVENTS[e.type]!;
    if (sign === 0) continue;
    const d = sign < 0 ? (amount.startsWith("-") ? amount.slice(1) : `-${amount}`) : amount;
    events.push({
      id: e.id,
      event: JSON.stringify({ e: "balanceUpdate", E: now, a: asset, d, T: Date.parse(e.timestamp) || now }),
    });
  }
  const positions = await balancesOf(db, [...touched.keys()]);
  for (const [userId, assetSet] of touched) {
    if (assetSet.size === 0) continue;
    const B = (positions.get(userId) ?? [])
      .filter((b) => assetSet.has(b.a))
      .concat([...assetSet].filter((a) => !positions.get(userId)?.some((b) => b.a === a)).map(zeroBalance));
    out.get(userId)!.push({
      id: `${lastId.get(userId)}:position`,
      event: JSON.stringify({ e: "outboundAccountPosition", E: now, u: now, B }),
    });
  }
  for (const [userId, events] of out) if (events.length === 0) out.delete(userId);
  return out;
}

/** The legs of every OCO among the rows, by the list's id (its head leg's), in one query. */
async function ocoLegs(db: Database, rows: readonly OrderRow[]): Promise<Map<string, OrderRow[]>> {
  const lists = [...new Set(rows.flatMap((r) => (r.ocoGroupId ? [r.ocoGroupId] : [])))];
  const out = new Map<string, OrderRow[]>();
  if (lists.length === 0) return out;
  for (const leg of await db.select().from(orders).where(inArray(orders.ocoGroupId, lists))) {
    out.set(leg.ocoGroupId!, [...(out.get(leg.ocoGroupId!) ?? []), leg]);
  }
  return out;
}

/**
 * An OCO's `listStatus` events: EXEC_STARTED with its head leg's acceptance, ALL_DONE when a
 * leg ends and both have. Their ids name the list, so the one sent from each leg's end (both
 * may see both ended) reaches the sockets once (AccountStream drops a repeated id).
 */
function listStatuses(
  e: EventEnvelope,
  row: OrderRow,
  legs: OrderRow[],
  rules: MarketRules,
  now: number,
): AccountEvent[] {
  const group = row.ocoGroupId!;
  if (e.type === "order.accepted" && row.id === group) {
    return [{ id: `list:${group}:started`, event: JSON.stringify(listStatusEvent(legs, rules, now, true)) }];
  }
  const ended = e.type === "order.filled" || e.type === "order.cancelled";
  if (!ended || !legs.every((l) => isFinal(l.status))) return [];
  return [{ id: `list:${group}:done`, event: JSON.stringify(listStatusEvent(legs, rules, now)) }];
}

const zeroBalance = (a: string) => ({ a, f: "0", l: "0" });

/** The users' balance rows as Binance's `B` entries (free, locked), in one query. */
async function balancesOf(
  db: Database,
  userIds: readonly string[],
): Promise<Map<string, { a: string; f: string; l: string }[]>> {
  const out = new Map<string, { a: string; f: string; l: string }[]>();
  if (userIds.length === 0) return out;
  const rows = await db
    .select({
      userId: balances.userId,
      asset: balances.asset,
      available: balances.available,
      locked: balances.locked,
      decimals: assets.decimals,
    })
    .from(balances)
    .innerJoin(assets, eq(assets.code, balances.asset))
    .where(inArray(balances.userId, [...userIds]));
  for (const r of rows) {
    let list = out.get(r.userId);
    if (!list) out.set(r.userId, (list = []));
    list.push({ a: r.asset, f: formatUnits(r.available, r.decimals), l: formatUnits(r.locked, r.decimals) });
  }
  return out;
}
