import {
  DoneReason,
  MatchingEngine,
  Reject,
  type Command,
  type EngineConfig,
  type EventBuffer,
  type OrderTypeName,
  type PlaceOco,
  type PlaceOrder,
  type SideName,
} from "../engine";
import { EventKind } from "../engine/codes";
import type { Batch, OrderRow } from "./batch";
import type {
  AmendCommand,
  CancelAllCommand,
  CancelCommand,
  CommandError,
  CommandResult,
  Fill,
  MarketCommand,
  OrderLookup,
  OrderReport,
  OrderStatusName,
  OutboxEntry,
  PlaceCommand,
  PlaceOcoCommand,
} from "./commands";
import { journalAfter } from "./journal";
import { CandleBook, type Candle } from "./market-data/candles";
import { DepthFeed } from "./market-data/depth-feed";
import { ActiveRules, type MarketRules } from "./rules";
import { EMPTY_COUNTERS, readMeta, writeMeta, type Counters } from "./schema";
import { latestSnapshot } from "./snapshots";

/** The engine's capacity; prices in ticks and quantities in lots must fit it. */
export const ENGINE_CONFIG: EngineConfig = { maxOrders: 1 << 20, initialOrders: 4096 };

const REJECT_NAMES = new Map<number, string>(Object.entries(Reject).map(([name, code]) => [code, name]));
const DONE_STATUS: Record<number, OrderStatusName> = {
  [DoneReason.FILLED]: "filled",
  [DoneReason.CANCELLED]: "cancelled",
  [DoneReason.EXPIRED]: "expired",
};

const fail = (code: string, message: string): CommandError => ({ ok: false, code, message });

const isPlacement = (c: Command): c is Extract<Command, { kind: "place" | "place_oco" }> =>
  c.kind === "place" || c.kind === "place_oco";

/** Order numbers the engine before far levels refused as out of its price window (code 205). */
function placementsRefusedForDistance(sql: SqlStorage): Set<number> {
  const rows = sql
    .exec<{ num: number }>(`SELECT num FROM orders WHERE result LIKE '%"code":"PRICE_OUT_OF_RANGE"%'`)
    .toArray();
  return new Set(rows.map((r) => r.num));
}
const isIdString = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= 64;

/**
 * What stands behind a placement: `locked` (the intake just locked its funds in Postgres),
 * `unfunded` (nothing was locked: only a known id's first result may be returned), `free` (a
 * book that does not settle into Postgres: object tests and benchmarks).
 */
export type Funding = "free" | "locked" | "unfunded";

const notFunded = (): CommandError =>
  fail("ORDER_NOT_FUNDED", "The order was recorded but never reached the book; place it again with a new id");

interface OrderRef {
  orderId: string;
  userId: string;
  clientOrderId: string | null;
}

/** What the events of one command did to the order the command is about. */
interface Outcome {
  accepted: boolean;
  rejectReason: number;
  doneReason: number;
  filled: number;
  fills: Fill[];
}

const newOutcome = (): Outcome => ({ accepted: false, rejectReason: 0, doneReason: 0, filled: 0, fills: [] });

function addFill(
  out: Outcome,
  taking: boolean,
  tradeId: string,
  price: string,
  quantity: string,
  lots: number,
  taker: OrderRef,
  maker: OrderRef,
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
 * One market's state in memory: the engine, the id maps, counters and market data. It executes
 * commands into a Batch (rows to persist, events to broadcast); the Durable Object wraps each
 * call in one storage transaction. Nothing here does I/O except reads of the object's SQLite.
 */
export class Market {
  engine: MatchingEngine;
  counters: Counters;
  rules: ActiveRules | null;
  readonly depth: DepthFeed;
  readonly candles = new CandleBook();
  private readonly userNums = new Map<string, number>();
  private readonly refs = new Map<number, OrderRef>();

  constructor(private readonly sql: SqlStorage) {
    const rules = readMeta<MarketRules>(sql, "rules");
    this.rules = rules ? new ActiveRules(rules) : null;
    this.counters = readMeta<Counters>(sql, "counters") ?? { ...EMPTY_COUNTERS };
    if (!this.counters.epoch) {
      this.counters.epoch = crypto.randomUUID();
      writeMeta(sql, "counters", this.counters);
    }
    const snapshot = latestSnapshot(sql);
    this.engine = snapshot ? MatchingEngine.restore(snapshot.engine) : new MatchingEngine(ENGINE_CONFIG);
    let seq = snapshot?.journalSeq ?? 0;
    const refusedForDistance = placementsRefusedForDistance(sql);
    for (const entry of journalAfter(sql, seq)) {
      if (entry.seq !== seq + 1) throw new Error(`journal gap after ${seq}`);
      const c = entry.command;
      // The engine once refused far prices (205); today's would take them on replay and rest
      // orders whose locks settlement already released. Those commands stay refused.
      if (!(refusedForDistance.size && isPlacement(c) && refusedForDistance.has(c.orderId))) {
        this.engine.apply(c);
      }
      this.engine.events.clear();
      seq = entry.seq;
    }
    if (seq !== this.counters.journalSeq) {
      throw new Error(`journal ends at ${seq} but the counters say ${this.counters.journalSeq}`);
    }
    this.depth = new DepthFeed(this.counters.lastUpdateId);
    for (const row of sql.exec<{ num: number; user_id: string }>("SELECT num, user_id FROM users")) {
      this.userNums.set(row.user_id, row.num);
    }
    this.candles.load(
      sql
        .exec(
          `SELECT * FROM candles c WHERE (interval = '1m' AND start >= ?)
             OR start = (SELECT max(start) FROM candles d WHERE d.interval = c.interval)`,
          Date.now() - 86_400_000 - 60_000,
        )
        .toArray() as unknown as Candle[],
    );
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
        if (funding === "locked" && !result.ok && !result.duplicate) {
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
    const admitted =
      command.kind === "place"
        ? this.admitPlace(command, batch)
        : command.kind === "place_oco"
          ? this.admitOco(command, batch)
          : null;
    return admitted && "refusal" in admitted ? admitted.refusal : null;
  }

  /**
   * The order this id already names. Storage is read only when Postgres has not vouched for the
   * id: a placement whose funds were just locked is new for sure (Postgres refuses a known id),
   * and admission before the lock (no batch) leaves a retry to that same check, which answers
   * it as `duplicate_order` and the book then with the first result. One SQLite read less each.
   */
  private known(orderId: string, batch: Batch | undefined, funding: Funding = "free"): OrderRow | null {
    const placed = batch?.placed.get(orderId);
    if (placed || funding === "locked" || !batch) return placed ?? null;
    return this.storedOrder(orderId);
  }

  private admitPlace(
    c: PlaceCommand,
    batch: Batch | undefined,
    funding: Funding = "free",
  ): { refusal: CommandResult } | { order: Omit<PlaceOrder, "orderId" | "userId"> } {
    if (!isIdString(c.orderId))
      return { refusal: fail("BAD_REQUEST", "orderId must be a string of 1-64 characters") };
    if (!isIdString(c.userId))
      return { refusal: fail("BAD_REQUEST", "userId must be a string of 1-64 characters") };
    const known = this.known(c.orderId, batch, funding);
    if (known) return { refusal: { ...known.result, duplicate: true } };
    const denied = this.statusError(false);
    if (denied) return { refusal: denied };
    const converted = this.toEngineOrder(c);
    return "ok" in converted ? { refusal: converted } : { order: converted };
  }

  private place(c: PlaceCommand, batch: Batch, funding: Funding): CommandResult {
    const admitted = this.admitPlace(c, batch, funding);
    if ("refusal" in admitted) return admitted.refusal;
    if (funding === "unfunded") return notFunded();
    const converted = admitted.order;

    const num = this.counters.nextOrderNum++;
    const order: PlaceOrder = { ...converted, orderId: num, userId: this.userNum(c.userId, batch, true)! };
    const ref: OrderRef = { orderId: c.orderId, userId: c.userId, clientOrderId: c.clientOrderId ?? null };
    this.refs.set(num, ref);
    const seq = this.apply({ kind: "place", ...order }, batch);
    const outcome = this.consumeEvents(batch, num, true);
    const result: CommandResult =
      outcome.rejectReason !== 0
        ? this.rejected(outcome.rejectReason)
        : {
            ok: true,
            order: this.report(ref, c.side, c.type, order.price, order.quantity, outcome, seq, batch.ts),
            fills: outcome.fills,
          };
    const row: OrderRow = { num, ...ref, result };
    batch.orders.push(row);
    batch.placed.set(c.orderId, row);
    return result;
  }

  /**
   * Both legs get an order number and a row (so either id can be cancelled, looked up or
   * retried); the journal holds one engine `place_oco` command, so a replay rebuilds the pair.
   */
  private admitOco(
    c: PlaceOcoCommand,
    batch: Batch | undefined,
  ):
    { refusal: CommandResult } | { price: number; stopPrice: number; stopLimitPrice?: number; lots: number } {
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
    const denied = this.statusError(false);
    if (denied) return { refusal: denied };
    const rules = this.rules!;
    const grid = rules.grid;
    const price = grid.ticks(c.price);
    const stopPrice = grid.ticks(c.stopPrice);
    const stopLimitPrice = c.stopLimitPrice === undefined ? undefined : grid.ticks(c.stopLimitPrice);
    if (!price || !stopPrice || stopLimitPrice === null || stopLimitPrice === 0) {
      return { refusal: fail("INVALID_TICK", "prices must be positive multiples of the tick size") };
    }
    const lots = grid.lots(c.quantity);
    if (!lots)
      return { refusal: fail("INVALID_LOT", "quantity must be a positive multiple of the lot size") };
    const minor = grid.quantityMinor(lots);
    if (minor < rules.minQuantity)
      return { refusal: fail("QUANTITY_TOO_SMALL", "quantity below the market minimum") };
    if (minor > rules.maxQuantity)
      return { refusal: fail("QUANTITY_TOO_LARGE", "quantity above the market maximum") };
    for (const p of [price, stopLimitPrice]) {
      if (p !== undefined && grid.notionalMinor(p, lots) < rules.minNotional) {
        return {
          refusal: fail("NOTIONAL_TOO_SMALL", "price × quantity is below the market's minimum notional"),
        };
      }
    }
    return { price, stopPrice, stopLimitPrice, lots };
  }

  private placeOco(c: PlaceOcoCommand, batch: Batch, funding: Funding): CommandResult {
    const admitted = this.admitOco(c, batch);
    if ("refusal" in admitted) return admitted.refusal;
    if (funding === "unfunded") return notFunded();
    const { price, stopPrice, stopLimitPrice, lots } = admitted;

    const limitNum = this.counters.nextOrderNum++;
    const stopNum = this.counters.nextOrderNum++;
    const userNum = this.userNum(c.userId, batch, true)!;
    const oco: PlaceOco = {
      orderId: limitNum,
      stopOrderId: stopNum,
      userId: userNum,
      side: c.side,
      quantity: lots,
      price,
      stopPrice,
      ...(stopLimitPrice === undefined ? {} : { stopLimitPrice }),
      ...(c.selfTradePrevention === undefined ? {} : { stp: c.selfTradePrevention }),
    };
    const limitRef: OrderRef = {
      orderId: c.orderId,
      userId: c.userId,
      clientOrderId: c.clientOrderId ?? null,
    };
    const stopRef: OrderRef = { orderId: c.stopOrderId, userId: c.userId, clientOrderId: null };
    this.refs.set(limitNum, limitRef);
    this.refs.set(stopNum, stopRef);
    const seq = this.apply({ kind: "place_oco", ...oco }, batch);
    const stopOutcome = newOutcome();
    const outcome = this.consumeEvents(batch, limitNum, true, stopNum, stopOutcome);
    let result: CommandResult;
    if (outcome.rejectReason !== 0) {
      this.refs.delete(stopNum);
      result = this.rejected(outcome.rejectReason);
    } else {
      const stopType: OrderTypeName = stopLimitPrice === undefined ? "stop_loss" : "stop_limit";
      const legs = [
        this.report(limitRef, c.side, "limit", price, lots, outcome, seq, batch.ts),
        this.report(stopRef, c.side, stopType, stopLimitPrice, lots, stopOutcome, seq, batch.ts),
      ];
      result = { ok: true, order: legs[0], orders: legs, fills: [...outcome.fills, ...stopOutcome.fills] };
    }
    for (const [num, ref] of [
      [limitNum, limitRef],
      [stopNum, stopRef],
    ] as const) {
      const row: OrderRow = { num, ...ref, result };
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
    const outcome = this.consumeEvents(batch, target.num);
    if (outcome.rejectReason !== 0) return fail("ORDER_NOT_OPEN", "The order is no longer open");
    // An OCO leg takes its sibling with it.
    const cancelled = batch.outbox
      .slice(before)
      .flatMap((e) => (e.kind === "order" && e.event === "done" ? [e.orderId] : []));
    return { ok: true, cancelled };
  }

  private amend(c: AmendCommand, batch: Batch): CommandResult {
    const denied = this.statusError(false);
    if (denied) return denied;
    const target = this.findOrder(c.orderId, c.userId, batch);
    if (!target) return fail("ORDER_NOT_FOUND", "No such order in this market");
    if (typeof c.expiresAt === "number" && batch.ts >= c.expiresAt) {
      return fail("AMEND_EXPIRED", "The amendment arrived after its hold on the order lapsed");
    }
    const grid = this.rules!.grid;
    const change: { price?: number; quantity?: number } = {};
    if (c.price !== undefined) {
      const ticks = grid.ticks(c.price);
      if (!ticks) return fail("INVALID_TICK", `price must be a positive multiple of the tick size`);
      change.price = ticks;
    }
    if (c.quantity !== undefined) {
      const lots = grid.lots(c.quantity);
      if (!lots) return fail("INVALID_LOT", "quantity must be a positive multiple of the lot size");
      if (grid.quantityMinor(lots) < this.rules!.minQuantity)
        return fail("QUANTITY_TOO_SMALL", "quantity below the market minimum");
      if (grid.quantityMinor(lots) > this.rules!.maxQuantity)
        return fail("QUANTITY_TOO_LARGE", "quantity above the market maximum");
      change.quantity = lots;
    }
    const live = this.engine.getOrder(target.num);
    if (live && live.price > 0) {
      const notional = grid.notionalMinor(change.price ?? live.price, change.quantity ?? live.quantity);
      if (notional < this.rules!.minNotional) {
        return fail("NOTIONAL_TOO_SMALL", "price × quantity is below the market's minimum notional");
      }
    }
    const before = batch.outbox.length;
    this.apply({ kind: "amend", orderId: target.num, ...change }, batch);
    const outcome = this.consumeEvents(batch, target.num);
    if (outcome.rejectReason !== 0) return this.rejected(outcome.rejectReason);
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
    const userNum = this.userNum(c.userId, batch, false);
    if (userNum === null) return { ok: true, cancelled: [] };
    const before = batch.outbox.length;
    this.apply({ kind: "cancel_all", userId: userNum }, batch);
    this.consumeEvents(batch, 0);
    const cancelled = batch.outbox
      .slice(before)
      .flatMap((e) => (e.kind === "order" && e.event === "done" ? [e.orderId] : []));
    return { ok: true, cancelled };
  }

  /** Journals and applies one engine command; returns its journal sequence. */
  private apply(command: Command, batch: Batch): number {
    const seq = ++this.counters.journalSeq;
    batch.journal.push({ seq, ts: batch.ts, command });
    this.engine.apply(command);
    return seq;
  }

  private rejected(reason: number): CommandError {
    const name = REJECT_NAMES.get(reason) ?? "REJECTED";
    return fail(name, `The order was rejected: ${name.toLowerCase().replaceAll("_", " ")}`);
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

  /** A `rejected` outbox entry for an order the book never took. */
  pushRejected(orderId: string, userId: string, reason: string, batch: Batch): void {
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

  /** Whether the book ever took this order id (it remembers every id it placed). */
  hasOrder(orderId: string): boolean {
    return this.storedOrder(orderId) !== null;
  }

  // ---- conversions ------------------------------------------------------------------------

  private toEngineOrder(c: PlaceCommand): Omit<PlaceOrder, "orderId" | "userId"> | CommandError {
    const rules = this.rules!;
    const grid = rules.grid;
    const out: Omit<PlaceOrder, "orderId" | "userId"> = { side: c.side, type: c.type };
    const ticks = (v: string | undefined, field: string): number | CommandError | undefined => {
      if (v === undefined) return undefined;
      const t = grid.ticks(v);
      return t ? t : fail("INVALID_TICK", `${field} must be a positive multiple of the tick size`);
    };
    const price = ticks(c.price, "price");
    if (typeof price === "object") return price;
    const stopPrice = ticks(c.stopPrice, "stop_price");
    if (typeof stopPrice === "object") return stopPrice;
    if (price !== undefined) out.price = price;
    if (stopPrice !== undefined) out.stopPrice = stopPrice;
    if (c.quantity !== undefined) {
      const lots = grid.lots(c.quantity);
      if (!lots) return fail("INVALID_LOT", "quantity must be a positive multiple of the lot size");
      const minor = grid.quantityMinor(lots);
      if (minor < rules.minQuantity) return fail("QUANTITY_TOO_SMALL", "quantity below the market minimum");
      if (minor > rules.maxQuantity) return fail("QUANTITY_TOO_LARGE", "quantity above the market maximum");
      if (price !== undefined && grid.notionalMinor(price, lots) < rules.minNotional) {
        return fail("NOTIONAL_TOO_SMALL", "price × quantity is below the market's minimum notional");
      }
      out.quantity = lots;
    }
    if (c.quoteQuantity !== undefined) {
      const units = grid.quoteUnits(c.quoteQuantity);
      const minor = units === null ? null : grid.notionalMinor(1, units);
      if (!units || minor === null) return fail("INVALID_AMOUNT", "quote_quantity must be a positive amount");
      out.quoteQuantity = units;
    }
    if (c.trailingOffset !== undefined) {
      const unit = c.trailingOffsetUnit ?? "ticks";
      const offset =
        unit === "bps"
          ? /^\d{1,4}$/.test(c.trailingOffset)
            ? Number(c.trailingOffset)
            : 0
          : grid.ticks(c.trailingOffset);
      if (!offset)
        return fail(
          "INVALID_TRAILING_OFFSET",
          "trailing_offset must be a positive price distance or whole bps",
        );
      out.trailingOffset = offset;
      out.trailingUnit = unit;
    } else if (c.trailingOffsetUnit !== undefined) out.trailingUnit = c.trailingOffsetUnit;
    if (c.visibleQuantity !== undefined) {
      const lots = grid.lots(c.visibleQuantity);
      if (!lots) return fail("INVALID_LOT", "visible_quantity must be a positive multiple of the lot size");
      out.visibleQuantity = lots;
    }
    if (c.timeInForce !== undefined) out.timeInForce = c.timeInForce;
    if (c.postOnly !== undefined) out.postOnly = c.postOnly;
    if (c.selfTradePrevention !== undefined) out.stp = c.selfTradePrevention;
    return out;
  }

  private userNum(userId: string, batch: Batch, create: boolean): number | null {
    const known = this.userNums.get(userId);
    if (known !== undefined || !create) return known ?? null;
    const num = this.counters.nextUserNum++;
    this.userNums.set(userId, num);
    batch.users.push({ num, userId });
    return num;
  }

  private storedOrder(orderId: string): OrderRow | null {
    const row = this.sql
      .exec<{
        num: number;
        client_order_id: string | null;
        user_id: string;
        result: string;
      }>("SELECT num, client_order_id, user_id, result FROM orders WHERE order_id = ?", orderId)
      .toArray()[0];
    if (!row) return null;
    return {
      num: row.num,
      orderId,
      clientOrderId: row.client_order_id,
      userId: row.user_id,
      result: JSON.parse(row.result) as CommandResult,
    };
  }

  private findOrder(orderId: string, userId: string | undefined, batch: Batch): OrderRow | null {
    if (!isIdString(orderId)) return null;
    const row = batch.placed.get(orderId) ?? this.storedOrder(orderId);
    if (!row || (userId !== undefined && row.userId !== userId)) return null;
    return row;
  }

  /** String ids of an engine order number (cached while the order lives). */
  private ref(num: number): OrderRef {
    let ref = this.refs.get(num);
    if (!ref) {
      const row = this.sql
        .exec<{ order_id: string; user_id: string; client_order_id: string | null }>(
          "SELECT order_id, user_id, client_order_id FROM orders WHERE num = ?",
          num,
        )
        .toArray()[0];
      ref = row
        ? { orderId: row.order_id, userId: row.user_id, clientOrderId: row.client_order_id }
        : { orderId: `#${num}`, userId: "", clientOrderId: null };
      this.refs.set(num, ref);
    }
    return ref;
  }

  // ---- events -----------------------------------------------------------------------------

  /** Turns the engine's pending events into outbox rows, trades, depth changes and candles. */
  /**
   * `placing`: the command places `subject`. A refused cancel or amend is not a rejected order,
   * so only a refused placement becomes a `rejected` order event for settlement.
   */
  /**
   * `second` / `secondOutcome`: the stop leg of an OCO being placed, tracked like the subject.
   */
  private consumeEvents(
    batch: Batch,
    subject: number,
    placing = false,
    second = 0,
    secondOutcome?: Outcome,
  ): Outcome {
    const outcome = newOutcome();
    const rules = this.rules!;
    const grid = rules.grid;
    const symbol = this.symbol;
    const ts = batch.ts;
    const ev: EventBuffer = this.engine.events;
    for (let i = 0; i < ev.count; i++) {
      const kind = ev.kind(i);
      const orderNum = ev.orderId(i);
      if (kind === EventKind.LEVEL) {
        this.depth.onLevel(ev.code(i) === 0 ? "buy" : "sell", ev.price(i), ev.quantity(i));
        continue;
      }
      if (kind === EventKind.TRADE) {
        const makerNum = ev.otherOrderId(i);
        const taker = this.ref(orderNum);
        const maker = this.ref(makerNum);
        const id = this.counters.nextTradeId++;
        const tradeId = `${symbol}:${id}`;
        const price = ev.price(i);
        const lots = ev.quantity(i);
        const takerSide = ev.code(i) === 0 ? "buy" : "sell";
        batch.trades.push({ id, ts, price, quantity: lots, takerSide });
        this.candles.addTrade(ts, price, lots);
        const p = grid.price(price);
        const q = grid.quantity(lots);
        batch.outbox.push({
          seq: ++this.counters.outboxSeq,
          kind: "trade",
          ts,
          tradeId,
          market: symbol,
          price: p,
          quantity: q,
          priceMinor: grid.priceMinor(price).toString(),
          quantityMinor: grid.quantityMinor(lots).toString(),
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
      const ref = this.ref(orderNum);
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
          if (orderNum === subject || orderNum === 0) outcome.rejectReason = ev.code(i);
          if (!placing) continue; // nothing to settle
          entry.event = "rejected";
          entry.status = "rejected";
          entry.reason = REJECT_NAMES.get(ev.code(i)) ?? "REJECTED";
          this.refs.delete(orderNum);
          break;
        case EventKind.ORDER_DONE: {
          entry.event = "done";
          entry.status = DONE_STATUS[ev.code(i)] ?? "cancelled";
          entry.remaining = grid.quantity(ev.quantity(i));
          entry.filled = grid.quantity(ev.quantity2(i));
          if (orderNum === subject) outcome.doneReason = ev.code(i);
          else if (second !== 0 && orderNum === second) secondOutcome!.doneReason = ev.code(i);
          this.refs.delete(orderNum);
          break;
        }
        case EventKind.AMENDED:
          entry.event = "amended";
          entry.price = grid.price(ev.price(i));
          entry.quantity = grid.quantity(ev.quantity(i));
          entry.remaining = grid.quantity(ev.quantity2(i));
          entry.priceMinor = grid.priceMinor(ev.price(i)).toString();
          entry.quantityMinor = grid.quantityMinor(ev.quantity(i)).toString();
          entry.remainingMinor = grid.quantityMinor(ev.quantity2(i)).toString();
          break;
        default:
          entry.event = "triggered";
          entry.price = grid.price(ev.price(i));
      }
      entry.seq = ++this.counters.outboxSeq;
      batch.outbox.push(entry);
    }
    ev.clear();
    return outcome;
  }

  private report(
    ref: OrderRef,
    side: SideName,
    type: OrderTypeName,
    price: number | undefined,
    quantity: number | undefined,
    outcome: Outcome,
    seq: number,
    ts: number,
  ): OrderReport {
    const grid = this.rules!.grid;
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
      market: this.symbol,
      side,
      type,
      status,
      price: price === undefined ? null : grid.price(price),
      quantity: quantity === undefined ? null : grid.quantity(quantity),
      filledQuantity: grid.quantity(outcome.filled),
      remainingQuantity:
        quantity === undefined
          ? null
          : grid.quantity(outcome.doneReason !== 0 ? 0 : quantity - outcome.filled),
      seq,
      ts,
    };
  }

  // ---- queries ----------------------------------------------------------------------------

  lookup(query: { orderId?: string; clientOrderId?: string; userId?: string }): OrderLookup {
    let row: OrderRow | null = null;
    if (isIdString(query.orderId)) row = this.storedOrder(query.orderId);
    else if (isIdString(query.clientOrderId)) {
      const hit = this.sql
        .exec<{ order_id: string }>(
          "SELECT order_id FROM orders WHERE client_order_id = ? AND (? IS NULL OR user_id = ?) ORDER BY num DESC LIMIT 1",
          query.clientOrderId,
          query.userId ?? null,
          query.userId ?? null,
        )
        .toArray()[0];
      if (hit) row = this.storedOrder(hit.order_id);
    }
    if (!row) return { known: false };
    const view = this.engine.getOrder(row.num);
    const grid = this.rules?.grid;
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

  /**
   * Every order id the book holds: resting, or waiting as a stop (both legs of an OCO). The ids
   * not cached in memory are read in one statement, so a restarted object lists a deep book fast.
   */
  liveOrderIds(): string[] {
    const nums = this.engine.liveOrderIds();
    const ids: string[] = [];
    const missing: number[] = [];
    for (const num of nums) {
      const ref = this.refs.get(num);
      if (ref) ids.push(ref.orderId);
      else missing.push(num);
    }
    if (missing.length) {
      const rows = this.sql.exec<{ order_id: string }>(
        "SELECT order_id FROM orders WHERE num IN (SELECT value FROM json_each(?))",
        JSON.stringify(missing),
      );
      for (const row of rows) ids.push(row.order_id);
    }
    return ids;
  }

  /** The user's live orders in this market, as order reports. */
  openOrders(userId: string): OutboxEntry[] {
    const num = this.userNums.get(userId);
    if (num === undefined || !this.rules) return [];
    const grid = this.rules.grid;
    return this.engine.openOrders(num).map((v) => ({
      seq: this.counters.outboxSeq,
      kind: "order" as const,
      ts: Date.now(),
      event: "accepted" as const,
      orderId: this.ref(v.orderId).orderId,
      userId,
      market: this.symbol,
      status: v.filled > 0 ? ("partially_filled" as const) : ("new" as const),
      price: v.price ? grid.price(v.price) : undefined,
      quantity: grid.quantity(v.quantity),
      remaining: grid.quantity(v.remaining),
      filled: grid.quantity(v.filled),
    }));
  }
}
