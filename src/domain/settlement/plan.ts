import type { OutboxEntry } from "../market/commands";
import { parseUnits } from "../../lib/money";
import type { MarketRules } from "../market/market-rules";
import { buyNeed, consumedBy, settleMinorFill, unusedLock } from "./fills";

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
  /** OCO legs: the pair's id (the limit leg's); both legs must be in `known`. */
  ocoGroupId?: string | null;
  /** Limit price and total quantity in minor units (an `amended` entry changes them). */
  price?: bigint | null;
  quantity?: bigint | null;
  /** The amendment holding the order (see `amendOrder`), if any. */
  amendId?: string | null;
  /** When that hold lapses (ms since the epoch); null: no hold, or none recorded. */
  amendExpiresAt?: number | null;
  /** The last `amended` outbox entry settled for this order. */
  amendSeq?: number | null;
}

/** A signed movement on a user's available or locked funds, or the fee account. */
export interface Movement {
  account: "available" | "locked" | "fees";
  userId?: string;
  asset: string;
  amount: bigint;
}

export interface PlannedEntry {
  type: "trade" | "order.release" | "order.amend_release";
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
  type: "order.accepted" | "order.cancelled" | "order.filled" | "order.amended" | "trade.executed";
  userId: string;
  payload: Record<string, unknown>;
}

export interface QuarantinedEntry {
  entry: OutboxEntry;
  /** The invariant it broke, as the planner reported it. */
  reason: string;
}

export interface SettlementPlan {
  trades: PlannedTrade[];
  entries: PlannedEntry[];
  /** The final state of every order the batch touched. */
  orders: Map<string, OrderState & { closedAt: Date | null }>;
  events: PlannedEvent[];
  /**
   * Entries that broke an invariant (an order Postgres does not have, a lock they would
   * overdraw, ...): nothing of theirs is planned; the caller sets them aside (quarantine).
   */
  quarantined: QuarantinedEntry[];
  /** Highest outbox sequence covered (quarantined entries included); the batch's cursor. */
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
 * An entry that breaks an invariant (it names an order the database does not have, it would
 * overdraw a lock, ...) plans nothing and is listed in `quarantined`; the others settle on, so
 * one bad entry never stops a market. The state is planned per entry in sequence order, so
 * the entries after it see the state as if it had never been there.
 *
 * OCO pairs share one lock held by one leg at a time: a leg that ends while its sibling lives on
 * (the stop leg triggered, or either leg cancelled: the book cancels the sibling right after)
 * hands its unused lock to the sibling instead of releasing it; the last leg to end releases
 * what is left. A rejected placement rejects both legs.
 *
 * `amended` entries set the order's price and quantity and, when they belong to the amendment
 * holding the order (or none holds it), release the lock beyond what the remaining quantity can
 * still consume (a buy: new price × remaining, rounded up; a sell: the remaining base). The
 * amendment locked any increase before the book saw it.
 */
export function planSettlement(
  rules: MarketRules,
  entries: readonly OutboxEntry[],
  known: ReadonlyMap<string, OrderState>,
  afterSeq: number,
  settledTradeIds: ReadonlySet<string> = new Set(),
): SettlementPlan {
  const state = new PlanState(rules.symbol, known);
  const plan: SettlementPlan = {
    trades: [],
    entries: [],
    orders: state.orders,
    events: [],
    quarantined: [],
    lastSeq: afterSeq,
  };
  const order = (id: string) => state.order(id);

  for (const e of entries) {
    if (e.seq <= afterSeq) continue;
    plan.lastSeq = Math.max(plan.lastSeq, e.seq);
    // Each entry stands alone: one that breaks an invariant is set aside with everything it
    // planned undone, and the entries after it settle as if it had not been in the batch.
    const mark = state.begin(plan);
    try {
      planEntry(rules, e, known, order, plan, settledTradeIds);
    } catch (err) {
      state.rollback(plan, mark);
      plan.quarantined.push({ entry: e, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return plan;
}

function planEntry(
  rules: MarketRules,
  e: OutboxEntry,
  known: ReadonlyMap<string, OrderState>,
  order: (id: string) => OrderState & { closedAt: Date | null },
  plan: SettlementPlan,
  settledTradeIds: ReadonlySet<string>,
): void {
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
  } else if (e.event === "amended") {
    amend(rules, e, order(e.orderId), plan);
  } else if (e.event === "done" || e.event === "rejected") {
    // A placement the object abandoned before Postgres recorded it: nothing was locked.
    if (e.event === "rejected" && !known.has(e.orderId) && !plan.orders.has(e.orderId)) return;
    const o = order(e.orderId);
    if (isFinal(o.status)) return; // already closed (e.g. released when the call failed)
    // A placement is accepted or rejected, never both: the object records an order as `new`
    // with its lock and the book then refuses it before it ever trades; a rejection of an
    // order that traded is not about its placement and leaves it as it is.
    if (
      e.event === "rejected" &&
      !(o.status === "pending" || (o.status === "new" && o.consumedAmount === 0n))
    ) {
      return;
    }
    const status: OrderStatus =
      e.event === "rejected"
        ? "rejected"
        : e.status === "filled" || e.status === "cancelled" || e.status === "expired"
          ? e.status
          : "cancelled";
    const sibling = o.ocoGroupId ? siblingOf(o, known, order) : null;
    if (sibling && !isFinal(sibling.status) && status !== "rejected") {
      // The pair's lock goes on with the leg that lives on; nothing returns to the user yet.
      const unused = unusedLock(o.lockedAmount - o.releasedAmount, o.consumedAmount);
      o.lockedAmount -= unused;
      sibling.lockedAmount += unused;
    }
    close(o, status, new Date(e.ts), plan, rules.symbol, e.reason);
    if (sibling && !isFinal(sibling.status) && status === "rejected") {
      close(sibling, "rejected", new Date(e.ts), plan, rules.symbol, e.reason);
    }
  }
}

/** The other leg of an OCO pair (the settler loads both legs of every pair in a batch). */
function siblingOf(
  o: OrderState,
  known: ReadonlyMap<string, OrderState>,
  order: (id: string) => OrderState & { closedAt: Date | null },
): (OrderState & { closedAt: Date | null }) | null {
  for (const k of known.values()) {
    if (k.id !== o.id && k.ocoGroupId === o.ocoGroupId) return order(k.id);
  }
  throw new Error(`settlement: the other leg of OCO order ${o.id} is not loaded`);
}

function amend(
  rules: MarketRules,
  e: Extract<OutboxEntry, { kind: "order" }>,
  o: OrderState,
  plan: SettlementPlan,
): void {
  if (isFinal(o.status) || e.quantity === undefined || e.remaining === undefined) return;
  if (o.amendSeq != null && e.seq <= o.amendSeq) return; // settled already (a replay)
  o.amendSeq = e.seq;
  // Minor units as the book computed them when it amended (older entries: the decimals).
  const quantity = e.quantityMinor ? BigInt(e.quantityMinor) : parseUnits(e.quantity, rules.baseDecimals);
  const remaining = e.remainingMinor
    ? BigInt(e.remainingMinor)
    : parseUnits(e.remaining, rules.baseDecimals, { allowZero: true });
  if (e.priceMinor) o.price = BigInt(e.priceMinor);
  else if (e.price !== undefined) o.price = parseUnits(e.price, rules.quoteDecimals);
  o.quantity = quantity;
  // A hold that had lapsed when the book amended is no hold: the book refuses its amendment
  // after that time (AMEND_EXPIRED), so it can no longer need what it locked.
  const lapsed = o.amendExpiresAt != null && e.ts >= o.amendExpiresAt;
  const held = lapsed ? null : (o.amendId ?? null);
  if (o.amendId != null && (lapsed || e.amendId === o.amendId)) o.amendId = null;
  plan.events.push({
    type: "order.amended",
    userId: o.userId,
    payload: { order_id: o.id, market: rules.symbol, price: e.price, quantity: e.quantity },
  });
  // Another amendment holds the order: it may have locked for itself; its own entry releases.
  if (held !== null && e.amendId !== held) return;
  const need = o.side === "buy" ? buyNeed(rules, o.price!, remaining) : remaining;
  const excess = o.lockedAmount - o.consumedAmount - o.releasedAmount - need;
  if (excess <= 0n) return;
  o.releasedAmount += excess;
  plan.entries.push({
    type: "order.amend_release",
    reference: `${o.id}:${e.seq}`,
    movements: [
      { account: "locked", userId: o.userId, asset: o.lockAsset, amount: -excess },
      { account: "available", userId: o.userId, asset: o.lockAsset, amount: excess },
    ],
  });
}

function settleTrade(
  rules: MarketRules,
  e: Extract<OutboxEntry, { kind: "trade" }>,
  order: (id: string) => OrderState,
  plan: SettlementPlan,
): void {
  // Minor units as the book computed them at match time (older entries: the decimals), so the
  // market's current tick and lot sizes play no part.
  const price = e.priceMinor ? BigInt(e.priceMinor) : parseUnits(e.price, rules.quoteDecimals);
  const quantity = e.quantityMinor ? BigInt(e.quantityMinor) : parseUnits(e.quantity, rules.baseDecimals);
  const s = settleMinorFill(
    { baseDecimals: rules.baseDecimals, makerFeeBps: e.makerFeeBps, takerFeeBps: e.takerFeeBps },
    { price, quantity, takerSide: e.takerSide },
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

/**
 * The orders a plan works on, with per-entry rollback: `begin` marks where an entry starts,
 * `rollback` undoes what it planned (order states, trades, entries, events), so an entry that
 * throws halfway leaves no trace in the plan.
 */
class PlanState {
  readonly orders = new Map<string, OrderState & { closedAt: Date | null }>();
  /** The states orders had before the current entry touched them (undefined: not yet loaded). */
  private touched = new Map<string, (OrderState & { closedAt: Date | null }) | undefined>();

  constructor(
    private readonly market: string,
    private readonly known: ReadonlyMap<string, OrderState>,
  ) {}

  order(id: string): OrderState & { closedAt: Date | null } {
    let o = this.orders.get(id);
    if (!this.touched.has(id)) this.touched.set(id, o ? { ...o } : undefined);
    if (!o) {
      const base = this.known.get(id);
      if (!base) throw new Error(`settlement: order ${id} of ${this.market} is not in the database`);
      o = { ...base, closedAt: null };
      this.orders.set(id, o);
    }
    return o;
  }

  begin(plan: SettlementPlan): { trades: number; entries: number; events: number } {
    this.touched = new Map();
    return { trades: plan.trades.length, entries: plan.entries.length, events: plan.events.length };
  }

  rollback(plan: SettlementPlan, mark: { trades: number; entries: number; events: number }): void {
    for (const [id, before] of this.touched) {
      // Restored in place: the objects are shared with the caller's map and the sibling links.
      const o = this.orders.get(id);
      if (!before) this.orders.delete(id);
      else if (o) Object.assign(o, before);
    }
    this.touched = new Map();
    plan.trades.length = mark.trades;
    plan.entries.length = mark.entries;
    plan.events.length = mark.events;
  }
}
