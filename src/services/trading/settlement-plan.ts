import type { OutboxEntry } from "../../../durable-objects/market/commands";
import { parseUnits } from "../../lib/money";
import type { MarketRules } from "./market-rules";
import { consumedBy, settleFill, unusedLock } from "./settlement";

/** The order book's settlement outbox, as its `readOutbox` returns it (decimal strings). */
export type { OutboxEntry };

export type OrderStatus =
  "pending" | "new" | "partially_filled" | "filled" | "cancelled" | "expired" | "rejected";
const FINAL: ReadonlySet<OrderStatus> = new Set(["filled", "cancelled", "expired", "rejected"]);
export const isFinal = (status: OrderStatus) => FINAL.has(status);

/** What settlement needs to know of an order (a row of `orders`, locked FOR UPDATE). */
export interface OrderState {
  id: string;
  userId: string;
  side: "buy" | "sell";
  status: OrderStatus;
  lockAsset: string;
  lockedAmount: bigint;
  consumedAmount: bigint;
  releasedAmount: bigint;
  filledQuantity: bigint;
  filledQuote: bigint;
}

/** A signed movement on a user's available or locked funds, or the fee account. */
export interface Movement {
  account: "available" | "locked" | "fees";
  userId?: string;
  asset: string;
  amount: bigint;
}

export interface PlannedEntry {
  type: "trade" | "order.release";
  reference: string;
  movements: Movement[];
}

export interface PlannedTrade {
  market: string;
  tradeId: string;
  seq: number;
  price: bigint;
  quantity: bigint;
  quoteAmount: bigint;
  takerSide: "buy" | "sell";
  buyOrderId: string;
  sellOrderId: string;
  buyerId: string;
  sellerId: string;
  buyerFee: bigint;
  sellerFee: bigint;
  executedAt: Date;
}

export interface PlannedEvent {
  type: "order.accepted" | "order.cancelled" | "order.filled" | "trade.executed";
  userId: string;
  payload: Record<string, unknown>;
}

export interface SettlementPlan {
  trades: PlannedTrade[];
  entries: PlannedEntry[];
  /** The final state of every order the batch touched. */
  orders: Map<string, OrderState & { closedAt: Date | null }>;
  events: PlannedEvent[];
  /** Highest outbox sequence covered; the batch's cursor. */
  lastSeq: number;
}

/**
 * Turns a batch of outbox entries into what one Postgres transaction must write: per trade the
 * movements of `settleFill` (buyer's locked quote to the seller net of its fee, seller's locked
 * base to the buyer net of its fee, both fees to the fee account); per finished order the
 * release of exactly its unused lock; every order's new filled amounts and status. Entries at
 * or below `afterSeq` (already applied) are skipped, so a replayed batch plans nothing; so are
 * trades in `settledTradeIds` (already in the database), the second line of defence.
 * Trade ids are the order book's (`BTC-USDT:42`), unique across markets.
 * An entry naming an order the database does not have is an invariant breach: it throws and the
 * batch stays unacknowledged for the next attempt (and an operator).
 */
export function planSettlement(
  rules: MarketRules,
  entries: readonly OutboxEntry[],
  known: ReadonlyMap<string, OrderState>,
  afterSeq: number,
  settledTradeIds: ReadonlySet<string> = new Set(),
): SettlementPlan {
  const orders = new Map<string, OrderState & { closedAt: Date | null }>();
  const order = (id: string) => {
    let o = orders.get(id);
    if (!o) {
      const base = known.get(id);
      if (!base) throw new Error(`settlement: order ${id} of ${rules.symbol} is not in the database`);
      o = { ...base, closedAt: null };
      orders.set(id, o);
    }
    return o;
  };
  const plan: SettlementPlan = { trades: [], entries: [], orders, events: [], lastSeq: afterSeq };

  for (const e of entries) {
    if (e.seq <= afterSeq) continue;
    plan.lastSeq = Math.max(plan.lastSeq, e.seq);
    if (e.kind === "trade") {
      if (!settledTradeIds.has(e.tradeId)) settleTrade(rules, e, order, plan);
    } else if (e.event === "accepted") {
      const o = order(e.orderId);
      if (o.status === "pending") o.status = "new";
      plan.events.push({
        type: "order.accepted",
        userId: o.userId,
        payload: { order_id: o.id, market: rules.symbol },
      });
    } else if (e.event === "done" || e.event === "rejected") {
      const o = order(e.orderId);
      if (isFinal(o.status)) continue; // already closed (e.g. released when the call failed)
      // A placement is accepted or rejected, never both: a rejection of an accepted order is
      // about a later command (an amend) and leaves the order as it is.
      if (e.event === "rejected" && o.status !== "pending") continue;
      const status: OrderStatus =
        e.event === "rejected"
          ? "rejected"
          : e.status === "filled" || e.status === "cancelled" || e.status === "expired"
            ? e.status
            : "cancelled";
      close(o, status, new Date(e.ts), plan, rules.symbol, e.reason);
    }
  }
  return plan;
}

function settleTrade(
  rules: MarketRules,
  e: Extract<OutboxEntry, { kind: "trade" }>,
  order: (id: string) => OrderState,
  plan: SettlementPlan,
): void {
  const price = parseUnits(e.price, rules.quoteDecimals);
  const quantity = parseUnits(e.quantity, rules.baseDecimals);
  const s = settleFill(
    { ...rules, makerFeeBps: e.makerFeeBps, takerFeeBps: e.takerFeeBps },
    {
      priceTicks: Number(price / rules.tickSize),
      lots: Number(quantity / rules.lotSize),
      takerSide: e.takerSide,
    },
  );
  const buyTaker = e.takerSide === "buy";
  const buy = order(buyTaker ? e.takerOrderId : e.makerOrderId);
  const sell = order(buyTaker ? e.makerOrderId : e.takerOrderId);
  for (const [o, side] of [
    [buy, "buy"],
    [sell, "sell"],
  ] as const) {
    o.consumedAmount += consumedBy(side, s);
    if (o.consumedAmount + o.releasedAmount > o.lockedAmount) {
      throw new Error(`settlement: trade ${e.tradeId} overdraws the lock of order ${o.id}`);
    }
    o.filledQuantity += s.base;
    o.filledQuote += s.quote;
    if (o.status === "pending" || o.status === "new") o.status = "partially_filled";
  }
  const { baseAsset, quoteAsset } = rules;
  plan.entries.push({
    type: "trade",
    reference: e.tradeId,
    movements: [
      { account: "locked", userId: buy.userId, asset: quoteAsset, amount: -s.quote },
      { account: "available", userId: sell.userId, asset: quoteAsset, amount: s.quote - s.sellerFee },
      { account: "fees", asset: quoteAsset, amount: s.sellerFee },
      { account: "locked", userId: sell.userId, asset: baseAsset, amount: -s.base },
      { account: "available", userId: buy.userId, asset: baseAsset, amount: s.base - s.buyerFee },
      { account: "fees", asset: baseAsset, amount: s.buyerFee },
    ].filter((m) => m.amount !== 0n) as Movement[],
  });
  const trade: PlannedTrade = {
    market: rules.symbol,
    tradeId: e.tradeId,
    seq: e.seq,
    price,
    quantity,
    quoteAmount: s.quote,
    takerSide: e.takerSide,
    buyOrderId: buy.id,
    sellOrderId: sell.id,
    buyerId: buy.userId,
    sellerId: sell.userId,
    buyerFee: s.buyerFee,
    sellerFee: s.sellerFee,
    executedAt: new Date(e.ts),
  };
  plan.trades.push(trade);
  const payload = {
    market: rules.symbol,
    trade_id: e.tradeId,
    price: e.price,
    quantity: e.quantity,
    taker_side: e.takerSide,
  };
  plan.events.push({
    type: "trade.executed",
    userId: buy.userId,
    payload: { ...payload, order_id: buy.id, side: "buy" },
  });
  plan.events.push({
    type: "trade.executed",
    userId: sell.userId,
    payload: { ...payload, order_id: sell.id, side: "sell" },
  });
}

function close(
  o: OrderState & { closedAt: Date | null },
  status: OrderStatus,
  at: Date,
  plan: SettlementPlan,
  market: string,
  reason?: string,
): void {
  const release = unusedLock(o.lockedAmount - o.releasedAmount, o.consumedAmount);
  o.status = status;
  o.closedAt = at;
  if (release > 0n) {
    o.releasedAmount += release;
    plan.entries.push({
      type: "order.release",
      reference: o.id,
      movements: [
        { account: "locked", userId: o.userId, asset: o.lockAsset, amount: -release },
        { account: "available", userId: o.userId, asset: o.lockAsset, amount: release },
      ],
    });
  }
  plan.events.push({
    type: status === "filled" ? "order.filled" : "order.cancelled",
    userId: o.userId,
    payload: { order_id: o.id, market, status, ...(reason ? { reason } : {}) },
  });
}
