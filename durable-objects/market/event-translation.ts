import {
  DoneReason,
  Reject,
  type EventBuffer,
  type MatchingEngine,
  type OrderTypeName,
  type SideName,
} from "../engine";
import { EventKind } from "../engine/codes";
import type { Batch } from "./batch";
import type {
  CommandError,
  Fill,
  OrderReport,
  OrderStatusName,
  OutboxEntry,
} from "../../src/domain/market/commands";
import type { CandleBook } from "./market-data/candles";
import type { DepthFeed } from "./market-data/depth-feed";
import type { OrderIds, OrderIdStrings } from "./order-ids";
import type { ActiveRules } from "./rules";
import type { Counters } from "./schema";

// Event translation: the engine reports what a command did as numeric events; here they become
// outbox rows (settlement), trades, depth changes and candles (market data), and the outcome of
// the order the command is about (the caller's reply).

export const REJECT_NAMES = new Map<number, string>(
  Object.entries(Reject).map(([name, code]) => [code, name]),
);
const DONE_STATUS: Record<number, OrderStatusName> = {
  [DoneReason.FILLED]: "filled",
  [DoneReason.CANCELLED]: "cancelled",
  [DoneReason.EXPIRED]: "expired",
};

/** The engine's refusal as a command error. */
export function rejected(reason: number): CommandError {
  const name = REJECT_NAMES.get(reason) ?? "REJECTED";
  return {
    ok: false,
    code: name,
    message: `The order was rejected: ${name.toLowerCase().replaceAll("_", " ")}`,
  };
}

/** What the events of one command did to the order the command is about. */
export interface Outcome {
  accepted: boolean;
  rejectReason: number;
  doneReason: number;
  filled: number;
  fills: Fill[];
}

export const newOutcome = (): Outcome => ({
  accepted: false,
  rejectReason: 0,
  doneReason: 0,
  filled: 0,
  fills: [],
});

/** The parts of a market the translation reads and advances. */
export interface MarketState {
  readonly engine: MatchingEngine;
  readonly counters: Counters;
  readonly rules: ActiveRules | null;
  readonly ids: OrderIds;
  readonly depth: DepthFeed;
  readonly candles: CandleBook;
  readonly symbol: string;
}

function addFill(
  out: Outcome,
  taking: boolean,
  tradeId: string,
  price: string,
  quantity: string,
  lots: number,
  taker: OrderIdStrings,
  maker: OrderIdStrings,
): void {
  out.filled += lots;
  out.fills.push({
    tradeId,
    price,
    quantity,
    liquidity: taking ? "taker" : "maker",
    counterOrderId: taking ? maker.orderId : taker.orderId,
    orderId: taking ? taker.orderId : maker.orderId,
  });
}

/**
 * Turns the engine's pending events into outbox rows, trades, depth changes and candles.
 * `placing`: the command places `subject`. A refused cancel or amend is not a rejected order,
 * so only a refused placement becomes a `rejected` order event for settlement.
 * `second` / `secondOutcome`: the stop leg of an OCO being placed, tracked like the subject.
 */
export function consumeEvents(
  m: MarketState,
  batch: Batch,
  subject: number,
  placing = false,
  second = 0,
  secondOutcome?: Outcome,
): Outcome {
  const outcome = newOutcome();
  const rules = m.rules!;
  const grid = rules.grid;
  const symbol = m.symbol;
  const counters = m.counters;
  const ts = batch.ts;
  const ev: EventBuffer = m.engine.events;
  for (let i = 0; i < ev.count; i++) {
    const kind = ev.kind(i);
    const orderNum = ev.orderId(i);
    if (kind === EventKind.LEVEL) {
      m.depth.onLevel(ev.code(i) === 0 ? "buy" : "sell", ev.price(i), ev.quantity(i));
      continue;
    }
    if (kind === EventKind.TRADE) {
      const makerNum = ev.otherOrderId(i);
      const taker = m.ids.ref(orderNum);
      const maker = m.ids.ref(makerNum);
      const id = counters.nextTradeId++;
      const tradeId = `${symbol}:${id}`;
      const price = ev.price(i);
      const lots = ev.quantity(i);
      const takerSide = ev.code(i) === 0 ? "buy" : "sell";
      batch.trades.push({ id, ts, price, quantity: lots, takerSide });
      m.candles.addTrade(ts, price, lots);
      const p = grid.price(price);
      const q = grid.quantity(lots);
      batch.outbox.push({
        seq: ++counters.outboxSeq,
        kind: "trade",
        ts,
        tradeId,
        market: symbol,
        price: p,
        quantity: q,
        priceMinor: grid.priceMinorText(price),
        quantityMinor: grid.quantityMinorText(lots),
        takerSide,
        takerOrderId: taker.orderId,
        takerUserId: taker.userId,
        makerOrderId: maker.orderId,
        makerUserId: maker.userId,
        makerFeeBps: rules.rules.makerFeeBps,
        takerFeeBps: rules.rules.takerFeeBps,
      });
      if (orderNum === subject || makerNum === subject) {
        addFill(outcome, orderNum === subject, tradeId, p, q, lots, taker, maker);
      } else if (second !== 0 && (orderNum === second || makerNum === second)) {
        addFill(secondOutcome!, orderNum === second, tradeId, p, q, lots, taker, maker);
      }
      continue;
    }
    if (kind === EventKind.REJECTED) {
      if (orderNum === subject || orderNum === 0) outcome.rejectReason = ev.code(i);
      // A refused cancel or amend: nothing to settle, and no ids to read (a done order's would
      // be read back from storage and stay cached for good).
      if (!placing) continue;
    }
    const ref = m.ids.ref(orderNum);
    const entry: OutboxEntry & { kind: "order" } = {
      seq: 0, // numbered when it is kept
      kind: "order",
      ts,
      event: "accepted",
      orderId: ref.orderId,
      userId: ref.userId,
      market: symbol,
    };
    switch (kind) {
      case EventKind.ACCEPTED:
        entry.status = "new";
        if (orderNum === subject) outcome.accepted = true;
        else if (second !== 0 && orderNum === second) secondOutcome!.accepted = true;
        break;
      case EventKind.REJECTED:
        entry.event = "rejected";
        entry.status = "rejected";
        entry.reason = REJECT_NAMES.get(ev.code(i)) ?? "REJECTED";
        m.ids.forget(orderNum);
        break;
      case EventKind.ORDER_DONE: {
        entry.event = "done";
        entry.status = DONE_STATUS[ev.code(i)] ?? "cancelled";
        entry.remaining = grid.quantity(ev.quantity(i));
        entry.filled = grid.quantity(ev.quantity2(i));
        if (orderNum === subject) outcome.doneReason = ev.code(i);
        else if (second !== 0 && orderNum === second) secondOutcome!.doneReason = ev.code(i);
        m.ids.forget(orderNum);
        break;
      }
      case EventKind.AMENDED:
        entry.event = "amended";
        entry.price = grid.price(ev.price(i));
        entry.quantity = grid.quantity(ev.quantity(i));
        entry.remaining = grid.quantity(ev.quantity2(i));
        entry.priceMinor = grid.priceMinorText(ev.price(i));
        entry.quantityMinor = grid.quantityMinorText(ev.quantity(i));
        entry.remainingMinor = grid.quantityMinorText(ev.quantity2(i));
        break;
      default:
        entry.event = "triggered";
        entry.price = grid.price(ev.price(i));
    }
    entry.seq = ++counters.outboxSeq;
    batch.outbox.push(entry);
  }
  ev.clear();
  return outcome;
}

/** The placed order as the caller's reply reports it. */
export function orderReport(
  m: Pick<MarketState, "rules" | "symbol">,
  ref: OrderIdStrings,
  order: { side: SideName; type: OrderTypeName; price: number | undefined; quantity: number | undefined },
  outcome: Outcome,
  seq: number,
  ts: number,
): OrderReport {
  const grid = m.rules!.grid;
  const { price, quantity } = order;
  const status: OrderStatusName =
    outcome.doneReason !== 0
      ? (DONE_STATUS[outcome.doneReason] ?? "cancelled")
      : outcome.filled > 0
        ? "partially_filled"
        : "new";
  return {
    orderId: ref.orderId,
    clientOrderId: ref.clientOrderId,
    userId: ref.userId,
    market: m.symbol,
    side: order.side,
    type: order.type,
    status,
    price: price === undefined ? null : grid.price(price),
    quantity: quantity === undefined ? null : grid.quantity(quantity),
    filledQuantity: grid.quantity(outcome.filled),
    remainingQuantity:
      quantity === undefined ? null : grid.quantity(outcome.doneReason !== 0 ? 0 : quantity - outcome.filled),
    seq,
    ts,
  };
}
