import type { Command, MatchingEngine, OrderTypeName, PlaceOco } from "../engine";
import type { Batch, BookOrderRow } from "./batch";
import type {
  AmendCommand,
  CancelAllCommand,
  CancelCommand,
  CommandError,
  CommandResult,
  MarketCommand,
  OrderLookup,
  OutboxEntry,
  PlaceCommand,
  PlaceOcoCommand,
} from "../../src/domain/market/commands";
import { fail, toEngineAmend, toEngineOco, toEngineOrder, type EngineOco } from "./engine-orders";
import type { EngineOrder } from "../../src/domain/market/order-input";
import { consumeEvents, newOutcome, orderReport, rejected, type MarketState } from "./event-translation";
import { CandleBook } from "./market-data/candles";
import { DepthFeed } from "./market-data/depth-feed";
import { isIdString, OrderIds, type OrderIdStrings } from "./order-ids";
import { lookupOrder, openOrdersOf } from "./order-lookup";
import { restoreCandles, restoreCounters, restoreEngine } from "./restore";
import type { BookRules } from "../../src/domain/market/market-rules";
import { ActiveRules } from "./rules";
import { outsidePercentBand } from "../../src/domain/market/percent-price";
import { readMeta, type Counters } from "./schema";

/**
 * What stands behind a placement: `locked` (the intake just locked its funds in Postgres),
 * `unfunded` (nothing was locked: only a known id's first result may be returned), `free` (a
 * book that does not settle into Postgres: object tests and benchmarks).
 */
export type Funding = "free" | "locked" | "unfunded";

/** The refusal of a placement recovered without a result (`Market.abandon`). */
const NOT_BOOKED = "NOT_BOOKED";

const notFunded = (): CommandError =>
  fail("ORDER_NOT_FUNDED", "The order was recorded but never reached the book; place it again with a new id");

/** The ids an OCO or a cancel_all's done events name. */
const doneIds = (outbox: readonly OutboxEntry[], from: number): string[] =>
  outbox.slice(from).flatMap((e) => (e.kind === "order" && e.event === "done" ? [e.orderId] : []));

/**
 * One market's state in memory: the engine, the id maps, counters and market data. It executes
 * commands into a Batch (rows to persist, events to broadcast); the Durable Object wraps each
 * call in one storage transaction. Nothing here does I/O except reads of the object's SQLite.
 * Its parts: restore.ts (load), engine-orders.ts (values → engine units), order-ids.ts (id
 * mapping), event-translation.ts (engine events → outbox, trades, replies), order-lookup.ts.
 */
export class Market implements MarketState {
  engine: MatchingEngine;
  counters: Counters;
  rules: ActiveRules | null;
  readonly ids: OrderIds;
  readonly depth: DepthFeed;
  readonly candles = new CandleBook();

  constructor(sql: SqlStorage) {
    const rules = readMeta<BookRules>(sql, "rules");
    this.rules = rules ? new ActiveRules(rules) : null;
    this.counters = restoreCounters(sql);
    this.engine = restoreEngine(sql, this.counters);
    this.depth = new DepthFeed(this.counters.lastUpdateId);
    this.ids = new OrderIds(sql);
    this.candles.load(restoreCandles(sql, Date.now()));
  }

  get symbol(): string {
    return this.rules?.rules.symbol ?? "";
  }

  // ---- commands ---------------------------------------------------------------------------

  /**
   * `funding` says what stands behind a placement (see `Funding`); a locked placement that the
   * book refuses leaves a `rejected` outbox entry, so settlement releases its lock.
   */
  execute(command: MarketCommand, batch: Batch, funding: Funding = "free"): CommandResult {
    if (!this.rules) return fail("MARKET_NOT_FOUND", "This market is not configured");
    if (typeof command !== "object" || command === null) return fail("BAD_REQUEST", "A command is an object");
    switch (command.kind) {
      case "place":
      case "place_oco": {
        const before = batch.outbox.length;
        const result =
          command.kind === "place"
            ? this.place(command, batch, funding)
            : this.placeOco(command, batch, funding);
        // A locked retry of an id recovered as never booked is refused as a duplicate: released too.
        if (funding === "locked" && !result.ok) {
          this.ensureRejected(command, result.code, batch, before);
        }
        return result;
      }
      case "cancel":
        return this.cancel(command, batch);
      case "amend":
        return this.amend(command, batch);
      case "cancel_all":
        return this.cancelAll(command, batch);
      default:
        return fail("BAD_REQUEST", "Unknown command kind");
    }
  }

  /**
   * Both halted and cancel-only refuse new orders and amendments; both let owners cancel, so a
   * halt never traps anyone's locked funds. Halted says matching stopped (an incident);
   * cancel-only says the market is winding down or not yet open.
   */
  private statusError(allowCancel: boolean): CommandError | null {
    const status = this.rules!.rules.status;
    if (status === "halted" && !allowCancel) {
      return fail("MARKET_HALTED", `${this.symbol} is halted: only cancellations are accepted`);
    }
    if (status === "cancel-only" && !allowCancel) {
      return fail("MARKET_CANCEL_ONLY", `${this.symbol} accepts only cancellations`);
    }
    return null;
  }

  /**
   * What the book says of a placement before any funds move: a refusal (market status, values
   * off the grid) or null to go on (a retry is recognised by the lock, see `known`). The
   * object's intake asks this before locking funds; execution asks again (state may have moved).
   */
  admit(command: MarketCommand, batch?: Batch): CommandResult | null {
    if (!this.rules) return fail("MARKET_NOT_FOUND", "This market is not configured");
    if (typeof command !== "object" || command === null) return fail("BAD_REQUEST", "A command is an object");
    if (command.kind === "place") {
      const admitted = this.admitPlace(command, batch);
      return "ok" in admitted ? admitted : null;
    }
    const admitted = command.kind === "place_oco" ? this.admitOco(command, batch) : null;
    return admitted && "refusal" in admitted ? admitted.refusal : null;
  }

  /**
   * The order this id already names. Storage is read only when Postgres has not vouched for the
   * id: a placement whose funds were just locked is new for sure (Postgres refuses a known id),
   * and admission before the lock (no batch) leaves a retry to that same check, which answers
   * it as `duplicate_order` and the book then with the first result. One SQLite read less each.
   * An id recovered as never booked is the exception: Postgres may never have recorded it.
   */
  private known(orderId: string, batch: Batch | undefined, funding: Funding = "free"): BookOrderRow | null {
    const placed = batch?.placed.get(orderId);
    if (placed) return placed;
    if ((funding === "locked" || !batch) && !this.ids.unbooked(orderId)) return null;
    return this.ids.stored(orderId);
  }

  /** The placement in engine units, or what answers it instead (a refusal, a known id's result). */
  private admitPlace(
    c: PlaceCommand,
    batch: Batch | undefined,
    funding: Funding = "free",
  ): CommandResult | EngineOrder {
    if (!isIdString(c.orderId)) return fail("BAD_REQUEST", "orderId must be a string of 1-64 characters");
    if (!isIdString(c.userId)) return fail("BAD_REQUEST", "userId must be a string of 1-64 characters");
    const known = this.known(c.orderId, batch, funding);
    if (known) return { ...known.result, duplicate: true };
    const denied = this.statusError(false) ?? this.openOrderCapError(c.userId, 1);
    if (denied) return denied;
    // Converted again when the book executes it (admitted before its lock, then run): cheaper
    // than keeping the first conversion (a WeakMap entry per placement cost workerd more than
    // the conversion itself, and its collections more still).
    const converted = toEngineOrder(this.rules!, c);
    if ("ok" in converted) return converted;
    return this.outsideBand(c.side, converted.price) ?? converted;
  }

  /** The refusal when `adding` more orders would pass the account's cap of live orders here. */
  private openOrderCapError(userId: string, adding: number): CommandError | null {
    const cap = this.rules!.rules.maxOpenOrders;
    if (cap === null) return null;
    const userNum = this.ids.userNum(userId);
    const live = userNum === undefined ? 0 : this.engine.liveOrderCount(userNum, cap);
    if (live + adding <= cap) return null;
    return fail("MAX_OPEN_ORDERS", `At most ${cap} open orders per account in ${this.symbol}`);
  }

  /** The percent price filter's refusal of a limit price (ticks), or null. */
  private outsideBand(side: "buy" | "sell", price?: number, otherPrice?: number): CommandError | null {
    const rule = this.rules!.rules.percentPrice;
    if (!rule) return null; // the common case: no array, no lookup on the placement path
    const last = this.engine.lastTradePrice();
    const message =
      (price === undefined ? null : outsidePercentBand(rule, side, price, last)) ??
      (otherPrice === undefined ? null : outsidePercentBand(rule, side, otherPrice, last));
    return message ? fail("PERCENT_PRICE", message) : null;
  }

  private place(c: PlaceCommand, batch: Batch, funding: Funding): CommandResult {
    const converted = this.admitPlace(c, batch, funding);
    if ("ok" in converted) return converted;
    if (funding === "unfunded") return notFunded();

    const num = this.counters.nextOrderNum++;
    // The conversion (made for this call) becomes the engine command: no copies of it.
    const order = Object.assign(converted, {
      kind: "place" as const,
      orderId: num,
      userId: this.userNum(c.userId, batch),
    });
    const ref: OrderIdStrings = {
      orderId: c.orderId,
      userId: c.userId,
      clientOrderId: c.clientOrderId ?? null,
    };
    this.ids.remember(num, ref);
    const seq = this.apply(order, batch);
    const outcome = consumeEvents(this, batch, num, true);
    const result: CommandResult =
      outcome.rejectReason !== 0
        ? rejected(outcome.rejectReason)
        : {
            ok: true,
            order: orderReport(
              this,
              ref,
              { side: c.side, type: c.type, price: order.price, quantity: order.quantity },
              outcome,
              seq,
              batch.ts,
            ),
            fills: outcome.fills,
          };
    const row: BookOrderRow = {
      num,
      orderId: ref.orderId,
      clientOrderId: ref.clientOrderId,
      userId: ref.userId,
      result,
      replay: c.replay,
    };
    batch.orders.push(row);
    batch.placed.set(c.orderId, row);
    return result;
  }

  /**
   * Both legs get an order number and a row (so either id can be cancelled, looked up or
   * retried); the journal holds one engine `place_oco` command, so a replay rebuilds the pair.
   */
  private admitOco(c: PlaceOcoCommand, batch: Batch | undefined): { refusal: CommandResult } | EngineOco {
    if (!isIdString(c.orderId) || !isIdString(c.stopOrderId) || c.orderId === c.stopOrderId) {
      return {
        refusal: fail("BAD_REQUEST", "orderId and stopOrderId must be two strings of 1-64 characters"),
      };
    }
    if (!isIdString(c.userId))
      return { refusal: fail("BAD_REQUEST", "userId must be a string of 1-64 characters") };
    const known = this.known(c.orderId, batch);
    if (known) return { refusal: { ...known.result, duplicate: true } };
    if (this.known(c.stopOrderId, batch)) {
      return { refusal: fail("DUPLICATE_ORDER_ID", "stopOrderId is already known") };
    }
    const denied = this.statusError(false) ?? this.openOrderCapError(c.userId, 2);
    if (denied) return { refusal: denied };
    const converted = toEngineOco(this.rules!, c);
    if ("ok" in converted) return { refusal: converted };
    const outside = this.outsideBand(c.side, converted.price, converted.stopLimitPrice);
    return outside ? { refusal: outside } : converted;
  }

  private placeOco(c: PlaceOcoCommand, batch: Batch, funding: Funding): CommandResult {
    const admitted = this.admitOco(c, batch);
    if ("refusal" in admitted) return admitted.refusal;
    if (funding === "unfunded") return notFunded();
    const { price, stopPrice, stopLimitPrice, lots } = admitted;

    const limitNum = this.counters.nextOrderNum++;
    const stopNum = this.counters.nextOrderNum++;
    const oco: PlaceOco = {
      orderId: limitNum,
      stopOrderId: stopNum,
      userId: this.userNum(c.userId, batch),
      side: c.side,
      quantity: lots,
      price,
      stopPrice,
      ...(stopLimitPrice === undefined ? {} : { stopLimitPrice }),
      ...(c.selfTradePrevention === undefined ? {} : { stp: c.selfTradePrevention }),
    };
    const limitRef: OrderIdStrings = {
      orderId: c.orderId,
      userId: c.userId,
      clientOrderId: c.clientOrderId ?? null,
    };
    const stopRef: OrderIdStrings = { orderId: c.stopOrderId, userId: c.userId, clientOrderId: null };
    this.ids.remember(limitNum, limitRef);
    this.ids.remember(stopNum, stopRef);
    const seq = this.apply({ kind: "place_oco", ...oco }, batch);
    const stopOutcome = newOutcome();
    const outcome = consumeEvents(this, batch, limitNum, true, stopNum, stopOutcome);
    let result: CommandResult;
    if (outcome.rejectReason !== 0) {
      this.ids.forget(stopNum);
      result = rejected(outcome.rejectReason);
    } else {
      const stopType: OrderTypeName = stopLimitPrice === undefined ? "stop_loss" : "stop_limit";
      const leg = (type: OrderTypeName, p: number | undefined) => ({
        side: c.side,
        type,
        price: p,
        quantity: lots,
      });
      const legs = [
        orderReport(this, limitRef, leg("limit", price), outcome, seq, batch.ts),
        orderReport(this, stopRef, leg(stopType, stopLimitPrice), stopOutcome, seq, batch.ts),
      ];
      result = { ok: true, order: legs[0], orders: legs, fills: [...outcome.fills, ...stopOutcome.fills] };
    }
    for (const [num, ref] of [
      [limitNum, limitRef],
      [stopNum, stopRef],
    ] as const) {
      const row: BookOrderRow = { num, ...ref, result, replay: c.replay };
      batch.orders.push(row);
      batch.placed.set(ref.orderId, row);
    }
    return result;
  }

  private cancel(c: CancelCommand, batch: Batch): CommandResult {
    const denied = this.statusError(true);
    if (denied) return denied;
    const target = this.findOrder(c.orderId, c.userId, batch);
    if (!target) return fail("ORDER_NOT_FOUND", "No such order in this market");
    const before = batch.outbox.length;
    this.apply({ kind: "cancel", orderId: target.num }, batch);
    const outcome = consumeEvents(this, batch, target.num);
    if (outcome.rejectReason !== 0) return fail("ORDER_NOT_OPEN", "The order is no longer open");
    // An OCO leg takes its sibling with it.
    return { ok: true, cancelled: doneIds(batch.outbox, before) };
  }

  private amend(c: AmendCommand, batch: Batch): CommandResult {
    const denied = this.statusError(false);
    if (denied) return denied;
    const target = this.findOrder(c.orderId, c.userId, batch);
    if (!target) return fail("ORDER_NOT_FOUND", "No such order in this market");
    if (typeof c.expiresAt === "number" && batch.ts >= c.expiresAt) {
      return fail("AMEND_EXPIRED", "The amendment arrived after its hold on the order lapsed");
    }
    const live = this.engine.getOrder(target.num);
    const change = toEngineAmend(this.rules!, c, live);
    if ("ok" in change) return change;
    const outside = live && change.price !== undefined ? this.outsideBand(live.side, change.price) : null;
    if (outside) return outside;
    const before = batch.outbox.length;
    this.apply({ kind: "amend", orderId: target.num, ...change }, batch);
    const outcome = consumeEvents(this, batch, target.num);
    if (outcome.rejectReason !== 0) return rejected(outcome.rejectReason);
    if (c.amendId !== undefined) {
      for (let i = before; i < batch.outbox.length; i++) {
        const e = batch.outbox[i]!;
        if (e.kind === "order" && e.event === "amended" && e.orderId === target.orderId) {
          e.amendId = c.amendId;
          break;
        }
      }
    }
    return { ok: true, fills: outcome.fills };
  }

  private cancelAll(c: CancelAllCommand, batch: Batch): CommandResult {
    const denied = this.statusError(true);
    if (denied) return denied;
    if (!isIdString(c.userId)) return fail("BAD_REQUEST", "userId must be a string of 1-64 characters");
    const userNum = this.ids.userNum(c.userId);
    if (userNum === undefined) return { ok: true, cancelled: [] };
    const before = batch.outbox.length;
    this.apply({ kind: "cancel_all", userId: userNum }, batch);
    consumeEvents(this, batch, 0);
    return { ok: true, cancelled: doneIds(batch.outbox, before) };
  }

  /** Journals and applies one engine command; returns its journal sequence. */
  private apply(command: Command, batch: Batch): number {
    const seq = ++this.counters.journalSeq;
    batch.journal.push({ seq, ts: batch.ts, command });
    this.engine.apply(command);
    return seq;
  }

  /**
   * A placement whose funds are locked but which the book refused before the engine saw it
   * (the market halted meanwhile, ...): a `rejected` entry tells settlement to release the lock
   * (it rejects both legs of an OCO). The engine's own refusals already leave one.
   */
  private ensureRejected(c: PlaceCommand | PlaceOcoCommand, code: string, batch: Batch, from: number): void {
    for (let i = from; i < batch.outbox.length; i++) {
      const e = batch.outbox[i]!;
      if (e.kind === "order" && e.event === "rejected" && e.orderId === c.orderId) return;
    }
    this.pushRejected(c.orderId, c.userId, code, batch);
  }

  /**
   * A placement whose lock Postgres may or may not have taken and that the book never took (no
   * answer from Postgres, a restart before it was journaled): refused for good. A `rejected`
   * entry releases whatever was locked, and the id keeps that refusal as its first result, so a
   * retry under it is answered refused, never locked or booked again (settlement would otherwise
   * reject the retry's `new` order by that entry while the book kept it live).
   */
  abandon(orderId: string, userId: string, batch: Batch): void {
    if (batch.placed.has(orderId) || this.ids.stored(orderId)) return;
    this.pushRejected(orderId, userId, NOT_BOOKED, batch);
    this.ids.addUnbooked(
      {
        num: -this.counters.outboxSeq,
        orderId,
        userId,
        clientOrderId: null,
        result: fail(
          NOT_BOOKED,
          "The order was rejected: its placement was interrupted before it reached the book; place it again as a new order",
        ),
      },
      batch,
    );
  }

  /** A `rejected` outbox entry for an order the book never took. */
  private pushRejected(orderId: string, userId: string, reason: string, batch: Batch): void {
    batch.outbox.push({
      seq: ++this.counters.outboxSeq,
      kind: "order",
      ts: batch.ts,
      event: "rejected",
      orderId,
      userId,
      market: this.symbol,
      status: "rejected",
      reason,
    });
  }

  private userNum(userId: string, batch: Batch): number {
    return this.ids.userNum(userId) ?? this.ids.addUser(userId, this.counters.nextUserNum++, batch);
  }

  private findOrder(orderId: string, userId: string | undefined, batch: Batch): BookOrderRow | null {
    if (!isIdString(orderId)) return null;
    const row = batch.placed.get(orderId) ?? this.ids.stored(orderId);
    // A row numbered below zero was never booked (`abandon`): nothing to cancel or amend.
    if (!row || row.num < 0 || (userId !== undefined && row.userId !== userId)) return null;
    return row;
  }

  // ---- queries ----------------------------------------------------------------------------

  lookup(query: { orderId?: string; clientOrderId?: string; userId?: string }): OrderLookup {
    return lookupOrder(this, query);
  }

  /** Every order id the book holds: resting, or waiting as a stop (both legs of an OCO). */
  liveOrderIds(): string[] {
    return this.ids.orderIdsOf(this.engine.liveOrderIds());
  }

  /** The user's live orders in this market, as order reports. */
  openOrders(userId: string): OutboxEntry[] {
    return openOrdersOf(this, userId);
  }
}
