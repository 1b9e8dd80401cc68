import * as codes from "./codes";
import { EventBuffer } from "./event-buffer";
import { IdIndex } from "./id-index";
import { checkInvariants } from "./invariants";
import * as request from "./order-request";
import { OrderRequest } from "./order-request";
import * as record from "./order-pool";
import { OrderPool } from "./order-pool";
import { PriceLevels } from "./price-levels";
import type {
  Amendment,
  Command,
  Depth,
  EngineConfig,
  LiveOrderView,
  PlaceOco,
  PlaceOrder,
  SideName,
} from "./types";
import { UserOrders } from "./user-orders";
import { describeOrder } from "./live-order-view";
import { fnv1a64, readBook, readHeader, readOrderRef, type BookStore } from "./snapshot";
import { encodeSnapshot, freezeBook, SnapshotEncoder } from "./snapshot-encoder";
import { VarintReader } from "./varint";

// The hot path reads module-level copies of what it imports: V8 folds a module's own constants
// into the compiled code, but loads and checks an imported binding at each use (an import may be
// read before its module has run). On the thin book that was ~14% of a command's CPU time.
const { DoneReason, EventKind, OK, OrderType, Reject, SelfTrade, Side, TimeInForce } = codes;
const { decodeOrder, isId } = request;
const {
  F64_SHIFT,
  FILLED,
  ICEBERG_BIT,
  ID,
  isBps,
  L_HEAD,
  isPostOnly,
  isTriggered,
  LEVEL,
  META,
  NEXT,
  OCO_BIT,
  packMeta,
  PREV,
  PRICE,
  QUANTITY,
  RECORD_SHIFT,
  SHOWN,
  sideOf,
  State,
  stateOf,
  stpOf,
  tifOf,
  typeOf,
  USER,
  USER_NEXT,
  UNLISTED_BIT,
  withState,
  withTriggered,
} = record;

const MAX_INT32 = 2147483647;
const BPS_DENOMINATOR = 10000;

export type ResolvedConfig = Required<Omit<EngineConfig, "priceBandTicks">> & { priceBandTicks: number };

export function resolveConfig(config: EngineConfig): ResolvedConfig {
  const maxOrders = config.maxOrders ?? 1 << 20;
  const resolved = {
    maxOrders,
    maxPrice: config.maxPrice ?? MAX_INT32,
    maxQuantity: config.maxQuantity ?? Math.floor(Number.MAX_SAFE_INTEGER / maxOrders),
    priceBandTicks: config.priceBandTicks ?? 0,
    initialOrders: config.initialOrders ?? 1024,
  };
  const ok =
    isId(maxOrders) &&
    isId(resolved.maxPrice) &&
    resolved.maxPrice <= MAX_INT32 &&
    isId(resolved.maxQuantity) &&
    resolved.maxQuantity * maxOrders <= Number.MAX_SAFE_INTEGER &&
    Number.isSafeInteger(resolved.priceBandTicks) &&
    resolved.priceBandTicks >= 0 &&
    isId(resolved.initialOrders);
  if (!ok) throw new RangeError(`invalid engine config ${JSON.stringify(config)}`);
  return resolved;
}

/**
 * A price-time priority order book for one market. Single writer and deterministic: the same
 * sequence of commands always yields the same events and state. See README.md.
 */
export class MatchingEngine {
  /** Events of the commands applied since the caller last drained or cleared it. */
  readonly events = new EventBuffer();
  readonly config: ResolvedConfig;
  private readonly pool: OrderPool;
  private readonly ids: IdIndex;
  private readonly users: UserOrders;
  private readonly levels: PriceLevels;
  private readonly req = new OrderRequest();
  private readonly req2 = new OrderRequest();
  /** Price of the most recent trade in ticks, 0 before the first trade. */
  private lastPrice = 0;
  private live = 0;
  /** Pending stops in acceptance order, linked through the pool's prev/next. */
  private stopHead = -1;
  private stopTail = -1;
  /** Bounds that let most executions skip the stop scan; may be stale in the safe direction. */
  private minBuyStop = MAX_INT32;
  private maxSellStop = 0;
  private trailingStops = 0;
  /** Triggered stops waiting to execute, FIFO, linked through `next`. */
  private triggerHead = -1;
  private triggerTail = -1;
  /** Unspent budget of the market-by-quote order being matched. */
  private quoteLeft = 0;
  /** Price of the first trade of the execution in progress, 0 if none yet. */
  private firstTradePrice = 0;
  /** User id of the one unlisted order (the new order of the command running), which has no user record yet. */
  private unlistedUserId = 0;

  constructor(config: EngineConfig = {}) {
    this.config = resolveConfig(config);
    const initial = Math.min(this.config.initialOrders, this.config.maxOrders + 1);
    this.pool = new OrderPool(initial, this.config.maxOrders + 1);
    // The pool's ids are the first Float64 of each record: entry s at f64[s << F64_SHIFT].
    this.ids = new IdIndex(initial, F64_SHIFT);
    this.users = new UserOrders(this.pool);
    this.levels = new PriceLevels(this.pool, this.config.maxOrders + 1);
  }

  // ---- commands -------------------------------------------------------------------------

  /** Applies a plain (JSON) command; replaying a journal through `apply` is deterministic. */
  apply(command: Command): number {
    switch (command.kind) {
      case "place":
        return this.place(command);
      case "place_oco":
        return this.placeOco(command);
      case "cancel":
        return this.cancel(command.orderId);
      case "cancel_all":
        return this.cancelAll(command.userId);
      case "amend":
        return this.amend(command.orderId, command);
      default:
        return this.reject(0, 0, Reject.INVALID_COMMAND);
    }
  }

  place(order: PlaceOrder): number {
    const r = this.req;
    let code = decodeOrder(order, this.config, r);
    if (code === OK) code = this.admit(r, 1);
    if (code !== OK) return this.reject(order.orderId, order.userId, code);
    const stop = r.type >= OrderType.STOP_LOSS;
    const slot = this.accept(r, !stop);
    if (stop) this.arm(slot);
    else this.execute(slot, r.quote);
    if (this.triggerHead !== -1) this.runTriggers();
    this.levels.settle();
    return OK;
  }

  /** Places a GTC limit leg and a stop leg; the first fill, trigger or cancel of one cancels the other. */
  placeOco(oco: PlaceOco): number {
    const limitLeg: PlaceOrder = { ...ocoBase(oco), orderId: oco.orderId, type: "limit", price: oco.price };
    const stopLeg: PlaceOrder = {
      ...ocoBase(oco),
      orderId: oco.stopOrderId,
      type: oco.stopLimitPrice === undefined ? "stop_loss" : "stop_limit",
      price: oco.stopLimitPrice,
      stopPrice: oco.stopPrice,
    };
    const a = this.req;
    const b = this.req2;
    let code = decodeOrder(limitLeg, this.config, a);
    if (code === OK) code = decodeOrder(stopLeg, this.config, b);
    if (code === OK && a.orderId === b.orderId) code = Reject.DUPLICATE_ORDER_ID;
    if (code === OK) code = this.admit(a, 2);
    if (code === OK) code = this.admit(b, 2);
    if (code !== OK) return this.reject(oco.orderId, oco.userId, code);
    const limitSlot = this.accept(a, false);
    const stopSlot = this.accept(b, false);
    this.pool.linkOco(limitSlot, stopSlot);
    this.execute(limitSlot, 0);
    // A fill of the limit leg has already cancelled the stop leg (its slot is then free).
    if (stateOf(this.pool.meta(stopSlot)) === State.NEW) this.arm(stopSlot);
    if (this.triggerHead !== -1) this.runTriggers();
    this.levels.settle();
    return OK;
  }

  cancel(orderId: number): number {
    const slot = isId(orderId) ? this.ids.find(orderId, this.pool.f64) : -1;
    if (slot === -1) return this.reject(orderId, 0, Reject.UNKNOWN_ORDER);
    this.cancelSlot(slot, DoneReason.CANCELLED);
    this.levels.settle();
    return OK;
  }

  /** Cancels every live order of the user, oldest first. */
  cancelAll(userId: number): number {
    if (!isId(userId)) return this.reject(0, userId, Reject.INVALID_USER_ID);
    for (let s = this.users.first(userId); s !== -1; s = this.users.first(userId)) {
      this.cancelSlot(s, DoneReason.CANCELLED);
    }
    this.levels.settle();
    return OK;
  }

  /**
   * Changes a resting order's price and/or total quantity. Reducing the quantity at the same
   * price keeps time priority; a price change or an increase re-enters the order at the back
   * (and may trade, as a taker, at the new price).
   */
  amend(orderId: number, change: Amendment): number {
    const pool = this.pool;
    const slot = isId(orderId) ? this.ids.find(orderId, pool.f64) : -1;
    if (slot === -1) return this.reject(orderId, 0, Reject.UNKNOWN_ORDER);
    const o = slot << RECORD_SHIFT;
    const d = slot << F64_SHIFT;
    const meta = pool.i32[o + META]!;
    const userId = this.users.idOf(pool.i32[o + USER]!);
    if (stateOf(meta) !== State.RESTING || (meta & OCO_BIT) !== 0) {
      return this.reject(orderId, userId, Reject.NOT_AMENDABLE);
    }
    const oldPrice = pool.i32[o + PRICE]!;
    const filled = pool.f64[d + FILLED]!;
    const price = change.price ?? oldPrice;
    const quantity = change.quantity ?? pool.f64[d + QUANTITY]!;
    if (!isId(price) || price > this.config.maxPrice)
      return this.reject(orderId, userId, Reject.INVALID_PRICE);
    if (!isId(quantity) || quantity > this.config.maxQuantity || quantity <= filled) {
      return this.reject(orderId, userId, Reject.INVALID_QUANTITY);
    }
    const side = sideOf(meta);
    const levels = this.levels;
    const level = pool.i32[o + LEVEL]!;
    if (price === oldPrice && quantity <= pool.f64[d + QUANTITY]!) {
      const remaining = quantity - filled;
      pool.f64[d + QUANTITY] = quantity;
      this.events.push(EventKind.AMENDED, orderId, userId, 0, 0, price, quantity, remaining, side);
      const excess = pool.f64[d + SHOWN]! - remaining;
      if (excess > 0) {
        pool.f64[d + SHOWN] = remaining;
        const left = levels.visibleOf(level) - excess;
        levels.setVisible(level, left);
        this.pushLevel(side, price, left);
      }
      return OK;
    }
    const code = !this.inBand(price)
      ? Reject.PRICE_OUT_OF_BAND
      : isPostOnly(meta) && this.wouldTake(side, price)
        ? Reject.POST_ONLY_WOULD_TAKE
        : OK;
    if (code !== OK) return this.reject(orderId, userId, code);
    this.pushLevel(side, oldPrice, levels.remove(side, level, slot));
    pool.i32[o + PRICE] = price;
    pool.i32[o + LEVEL] = -1;
    pool.f64[d + QUANTITY] = quantity;
    pool.i32[o + META] = withState(meta, State.NEW);
    this.events.push(EventKind.AMENDED, orderId, userId, 0, 0, price, quantity, quantity - filled, side);
    this.execute(slot, 0);
    if (this.triggerHead !== -1) this.runTriggers();
    this.levels.settle();
    return OK;
  }

  // ---- queries --------------------------------------------------------------------------

  bestBid(): number | null {
    return this.levels.bestBid === 0 ? null : this.levels.bestBid;
  }

  bestAsk(): number | null {
    return this.levels.bestAsk === 0 ? null : this.levels.bestAsk;
  }

  /** Price of the last trade in ticks, or null before the first trade. */
  lastTradePrice(): number | null {
    return this.lastPrice === 0 ? null : this.lastPrice;
  }

  /** Live orders: resting plus pending stops. */
  get orderCount(): number {
    return this.live;
  }

  /**
   * Bytes of the engine's records held in growable SharedArrayBuffers (a large book's orders and
   * levels: see record-buffer.ts), which process.memoryUsage() and V8's external-memory count
   * leave out: memory figures add them.
   */
  get sharedBytes(): number {
    return this.pool.sharedBytes + this.levels.sharedBytes;
  }

  /** Aggregated displayed quantity of up to `levels` price levels per side, best first. */
  depth(levels: number): Depth {
    const out: Depth = { bids: [], asks: [] };
    for (const [side, list] of [
      [Side.BUY, out.bids],
      [Side.SELL, out.asks],
    ] as const) {
      let p = side === Side.BUY ? this.levels.bestBid : this.levels.bestAsk;
      for (; p !== 0 && list.length < levels; p = this.levels.behind(side, p)) {
        list.push([p, this.levels.visibleOf(this.levels.levelAt(p))]);
      }
    }
    return out;
  }

  /** Order ids resting at `price` on `side`, in queue order (an L3 view of one level). */
  levelOrders(side: SideName, price: number): number[] {
    const out: number[] = [];
    const levels = this.levels;
    const pool = this.pool;
    if (!isId(price) || price > this.config.maxPrice) return out;
    const level = levels.levelAt(price);
    if (level === -1) return out;
    const sideCode = side === "buy" ? Side.BUY : Side.SELL;
    for (
      let s = levels.field(level, L_HEAD);
      s !== -1 && sideOf(pool.meta(s)) === sideCode;
      s = pool.int(s, NEXT)
    ) {
      out.push(pool.id(s));
    }
    return out;
  }

  getOrder(orderId: number): LiveOrderView | null {
    const slot = isId(orderId) ? this.ids.find(orderId, this.pool.f64) : -1;
    return slot === -1 ? null : this.view(slot);
  }

  /** How many live orders (resting and pending stops) the user has, counting no further than `atMost`. */
  liveOrderCount(userId: number, atMost: number): number {
    let n = 0;
    if (!isId(userId)) return n;
    for (let s = this.users.first(userId); s !== -1 && n < atMost; s = this.pool.int(s, USER_NEXT)) n++;
    return n;
  }

  /** The user's live orders in acceptance order. */
  openOrders(userId: number): LiveOrderView[] {
    const out: LiveOrderView[] = [];
    if (!isId(userId)) return out;
    for (let s = this.users.first(userId); s !== -1; s = this.pool.int(s, USER_NEXT)) out.push(this.view(s));
    return out;
  }

  /** Every live order's id (resting and pending stops), user by user: O(live orders), for audits. */
  liveOrderIds(): number[] {
    const out: number[] = [];
    for (const userId of this.users.userIds()) {
      for (let s = this.users.first(userId); s !== -1; s = this.pool.int(s, USER_NEXT))
        out.push(this.pool.id(s));
    }
    return out;
  }

  /** 64-bit FNV-1a (16 hex digits) of the canonical snapshot: equal states hash equal. */
  stateHash(): string {
    return fnv1a64(this.snapshot());
  }

  snapshot(): Uint8Array {
    return encodeSnapshot(this.store(), this.snapshotHeader(), this.live, this.stopHead);
  }

  /**
   * The snapshot of the book as it is now, written `slice` orders per `step()` (SnapshotEncoder):
   * it reads a copy of the order records taken here (a memcpy of 64 bytes an order: ~8 ms at
   * 230k orders in Node, against ~35 ms for the whole `snapshot()`), so the engine takes
   * commands between steps and the bytes are still this moment's `snapshot()`.
   */
  beginSnapshot(slice: number): SnapshotEncoder {
    const book = freezeBook(this.store(), this.snapshotHeader(), this.live, this.stopHead, true);
    return new SnapshotEncoder(book, slice);
  }

  private snapshotHeader(): { config: ResolvedConfig; nextSeq: number; lastPrice: number } {
    return { config: this.config, nextSeq: this.events.nextSeq, lastPrice: this.lastPrice };
  }

  private store(): BookStore {
    return { pool: this.pool, ids: this.ids, users: this.users, levels: this.levels };
  }

  static restore(snapshot: Uint8Array): MatchingEngine {
    const r = new VarintReader(snapshot);
    const header = readHeader(r);
    const engine = new MatchingEngine(header.config);
    engine.events.nextSeq = header.nextSeq;
    engine.lastPrice = header.lastPrice;
    const store = engine.store();
    engine.live = readBook(r, header.version, store);
    for (let n = r.uint(); n > 0; n--) engine.linkStop(readOrderRef(r, header.version, store));
    if (!r.done) throw new RangeError("engine snapshot has trailing bytes");
    engine.levels.settle();
    return engine;
  }

  /**
   * Checks every structural invariant (levels, queues, indexes, per-user and stop lists,
   * counters, bitsets, an uncrossed book) and throws a descriptive Error on the first one broken.
   * O(book) and allocating: for tests, fuzzing and diagnostics, between commands.
   */
  validateInternalState(): void {
    checkInvariants({
      pool: this.pool,
      ids: this.ids,
      users: this.users,
      levels: this.levels,
      live: this.live,
      stopHead: this.stopHead,
      stopTail: this.stopTail,
      trailingStops: this.trailingStops,
      minBuyStop: this.minBuyStop,
      maxSellStop: this.maxSellStop,
      triggerHead: this.triggerHead,
    });
  }

  // ---- admission ------------------------------------------------------------------------

  private reject(orderId: unknown, userId: unknown, reason: number): number {
    this.events.push(
      EventKind.REJECTED,
      isId(orderId) ? orderId : 0,
      isId(userId) ? userId : 0,
      0,
      0,
      0,
      0,
      0,
      reason,
    );
    return reason;
  }

  /** Book-state checks after validation; `slots` is how many orders the command adds. */
  private admit(r: OrderRequest, slots: number): number {
    if (this.ids.find(r.orderId, this.pool.f64) !== -1) return Reject.DUPLICATE_ORDER_ID;
    const canRest = r.type !== OrderType.MARKET && !(r.type === OrderType.LIMIT && r.tif !== TimeInForce.GTC);
    if (canRest && this.live + slots > this.config.maxOrders) return Reject.BOOK_FULL;
    if (this.config.priceBandTicks !== 0) {
      if (r.stopPrice !== 0 && !this.inBand(r.stopPrice)) return Reject.PRICE_OUT_OF_BAND;
      if (r.price !== 0 && !this.inBand(r.price)) return Reject.PRICE_OUT_OF_BAND;
    }
    if (r.postOnly && this.wouldTake(r.side, r.price)) return Reject.POST_ONLY_WOULD_TAKE;
    return OK;
  }

  private inBand(price: number): boolean {
    const band = this.config.priceBandTicks;
    return band === 0 || this.lastPrice === 0 || Math.abs(price - this.lastPrice) <= band;
  }

  private wouldTake(side: number, price: number): boolean {
    const levels = this.levels;
    return side === Side.BUY
      ? levels.bestAsk !== 0 && levels.bestAsk <= price
      : levels.bestBid !== 0 && levels.bestBid >= price;
  }

  /**
   * Takes an admitted order into the pool. `unlisted`: a new order about to match, which gets
   * a user record and enters the id index and its user's list only if it rests (see `rest`);
   * until then its user id is `unlistedUserId`.
   */
  private accept(r: OrderRequest, unlisted: boolean): number {
    const pool = this.pool;
    const slot = pool.alloc();
    // Read after alloc: growing the pool replaces the arrays.
    const i32 = pool.i32;
    const f64 = pool.f64;
    const o = slot << RECORD_SHIFT;
    const d = slot << F64_SHIFT;
    f64[d + ID] = r.orderId;
    f64[d + QUANTITY] = r.quantity;
    f64[d + SHOWN] = 0;
    i32[o + PRICE] = r.price;
    i32[o + LEVEL] = -1;
    let meta = withState(packMeta(r.side, r.type, r.tif, r.stp, r.postOnly, r.bps), State.NEW);
    if (r.peak !== 0 || r.type >= OrderType.STOP_LOSS) meta |= this.acceptCold(r, slot);
    if (unlisted) {
      i32[o + USER] = -1;
      this.unlistedUserId = r.userId;
      meta |= UNLISTED_BIT;
    } else {
      this.ids.insert(slot, f64);
      this.users.append(slot, r.userId);
    }
    i32[o + META] = meta;
    this.live++;
    this.events.accepted(r.orderId, r.userId, r.side, r.price, r.quantity, r.quote);
    return slot;
  }

  /** Writes an iceberg's or a stop's cold columns (see OrderPool); returns the meta bits to add. */
  private acceptCold(r: OrderRequest, slot: number): number {
    const pool = this.pool;
    pool.useCold();
    if (r.type >= OrderType.STOP_LOSS) {
      pool.stopPrice[slot] = r.stopPrice;
      pool.trailOffset[slot] = r.trailOffset;
      pool.trailRef[slot] = 0;
    }
    if (r.peak === 0) return 0;
    pool.peak[slot] = r.peak;
    return ICEBERG_BIT;
  }

  // ---- matching -------------------------------------------------------------------------

  /** Runs a taker (new, amended or triggered) against the book, then rests or finishes it. */
  private execute(t: number, quote: number): void {
    const pool = this.pool;
    const o = t << RECORD_SHIFT;
    const d = t << F64_SHIFT;
    const meta = pool.i32[o + META]!;
    const side = sideOf(meta);
    const marketLike = isMarketLike(meta);
    const limit = marketLike ? (side === Side.BUY ? MAX_INT32 : 1) : pool.i32[o + PRICE]!;
    if (tifOf(meta) === TimeInForce.FOK && !this.canFill(t, side, limit)) {
      this.finish(t, DoneReason.EXPIRED, pool.f64[d + QUANTITY]! - pool.f64[d + FILLED]!);
      return;
    }
    this.firstTradePrice = 0;
    this.quoteLeft = quote;
    // Most limit orders do not cross: they skip the matching loop's setup.
    const best = side === Side.BUY ? this.levels.bestAsk : this.levels.bestBid;
    const crosses = best !== 0 && (side === Side.BUY ? best <= limit : best >= limit);
    const selfTradeStopped = crosses && this.match(t, side, limit, quote);
    const firstTradePrice = this.firstTradePrice;
    const remaining = pool.f64[d + QUANTITY]! - pool.f64[d + FILLED]!;
    if (quote !== 0) {
      this.finishQuote(t, selfTradeStopped);
    } else if (remaining === 0) {
      this.finish(t, DoneReason.FILLED, 0);
    } else if (selfTradeStopped || marketLike || tifOf(meta) !== TimeInForce.GTC) {
      this.finish(t, DoneReason.EXPIRED, remaining);
    } else {
      this.rest(t, side);
    }
    if (firstTradePrice !== 0 && this.stopHead !== -1) this.checkStops(firstTradePrice, this.lastPrice);
  }

  /** Finishes a market buy by quote: filled when its unspent quote buys nothing more. */
  private finishQuote(t: number, selfTradeStopped: boolean): void {
    const left = this.quoteLeft;
    const bestAsk = this.levels.bestAsk;
    const spent = !selfTradeStopped && (left === 0 || (bestAsk !== 0 && left < bestAsk));
    this.finish(t, spent ? DoneReason.FILLED : DoneReason.EXPIRED, left);
  }

  /**
   * Fills taker `t` against the opposite side while prices are within `limit`, at the makers'
   * prices, FIFO within a level. Returns true when self-trade prevention expired the taker.
   * A market buy by quote (`quote` > 0) takes floor(unspent / price) lots at most per level.
   */
  private match(t: number, side: number, limit: number, quote: number): boolean {
    const pool = this.pool;
    const levels = this.levels;
    const events = this.events;
    // Nothing is allocated while matching, so the record and level arrays stay put.
    const p32 = pool.i32;
    const p64 = pool.f64;
    const l32 = levels.i32;
    const buy = side === Side.BUY;
    const makerSide = buy ? Side.SELL : Side.BUY;
    const to = t << RECORD_SHIFT;
    const td = t << F64_SHIFT;
    const takerId = p64[td + ID]!;
    const takerUserId = this.userIdOf(t);
    const stp = stpOf(p32[to + META]!);
    let need = p64[td + QUANTITY]! - p64[td + FILLED]!;
    let quoteLeft = quote;
    let stopped = false;
    for (;;) {
      const p = buy ? levels.bestAsk : levels.bestBid;
      if (p === 0 || (buy ? p > limit : p < limit)) break;
      let cap = quote === 0 ? need : Math.floor(quoteLeft / p);
      if (cap === 0) break;
      const level = levels.levelAt(p);
      const head = (level << 3) + L_HEAD;
      let levelQty = levels.visibleOf(level);
      let traded = 0;
      let m = l32[head]!;
      while (m !== -1) {
        const mo = m << RECORD_SHIFT;
        const md = m << F64_SHIFT;
        const makerUserId = this.users.idOf(p32[mo + USER]!);
        if (makerUserId === takerUserId) {
          if (stp !== SelfTrade.EXPIRE_TAKER) {
            const next = p32[mo + NEXT]!;
            levels.unlink(level, m);
            levelQty -= p64[md + SHOWN]!;
            this.finish(m, DoneReason.EXPIRED, p64[md + QUANTITY]! - p64[md + FILLED]!);
            m = next;
          }
          if (stp !== SelfTrade.EXPIRE_MAKER) {
            stopped = true;
            break;
          }
          continue;
        }
        const shown = p64[md + SHOWN]!;
        const fill = cap < shown ? cap : shown;
        events.trade(takerId, takerUserId, p64[md + ID]!, makerUserId, p, fill, side);
        if ((p32[to + META]! & OCO_BIT) !== 0) this.cancelSibling(t);
        if ((p32[mo + META]! & OCO_BIT) !== 0) this.cancelSibling(m);
        cap -= fill;
        traded += fill;
        levelQty -= fill;
        const filled = p64[md + FILLED]! + fill;
        p64[md + FILLED] = filled;
        if (fill < shown) {
          p64[md + SHOWN] = shown - fill;
        } else {
          const hidden = p64[md + QUANTITY]! - filled;
          if (hidden > 0) {
            levelQty += this.nextSlice(level, m, hidden);
            m = l32[head]!;
          } else {
            const next = p32[mo + NEXT]!;
            levels.unlink(level, m);
            p64[md + SHOWN] = 0;
            this.finish(m, DoneReason.FILLED, 0);
            m = next;
          }
        }
        if (cap === 0) break;
      }
      if (levelQty !== levels.visibleOf(level)) {
        levels.setVisible(level, levelQty);
        this.pushLevel(makerSide, p, levelQty);
      }
      if (l32[head] === -1) levels.emptied(makerSide, level, p);
      if (traded > 0) {
        p64[td + FILLED]! += traded;
        need -= traded;
        quoteLeft -= traded * p;
        if (this.firstTradePrice === 0) this.firstTradePrice = p;
        this.lastPrice = p;
      }
      if (stopped) break;
    }
    this.quoteLeft = quoteLeft;
    return stopped;
  }

  /**
   * An iceberg maker's shown slice is filled and `hidden` lots remain (only an iceberg hides
   * quantity): shows the next slice at the back of the level's queue and returns its size.
   */
  private nextSlice(level: number, m: number, hidden: number): number {
    const slice = Math.min(this.pool.peakOf(m), hidden);
    this.pool.f64[(m << F64_SHIFT) + SHOWN] = slice;
    this.levels.moveToTail(level, m);
    return slice;
  }

  /**
   * FOK pre-check: would `t` fill completely? An iceberg's hidden quantity counts, except at a
   * level where the taker's own order stops it (the refreshed slices queue behind that order).
   */
  private canFill(t: number, side: number, limit: number): boolean {
    const pool = this.pool;
    const levels = this.levels;
    const buy = side === Side.BUY;
    const makerSide = buy ? Side.SELL : Side.BUY;
    const user = this.userIdOf(t);
    const skipOwn = stpOf(pool.meta(t)) === SelfTrade.EXPIRE_MAKER;
    let need = pool.num(t, QUANTITY) - pool.num(t, FILLED);
    for (let p = buy ? levels.bestAsk : levels.bestBid; p !== 0 && (buy ? p <= limit : p >= limit);) {
      let shown = 0;
      let total = 0;
      for (let m = levels.field(levels.levelAt(p), L_HEAD); m !== -1; m = pool.int(m, NEXT)) {
        if (this.users.idOf(pool.int(m, USER)) !== user) {
          shown += pool.num(m, SHOWN);
          total += pool.num(m, QUANTITY) - pool.num(m, FILLED);
        } else if (!skipOwn) {
          return shown >= need;
        }
      }
      need -= total;
      if (need <= 0) return true;
      p = levels.behind(makerSide, p);
    }
    return false;
  }

  private rest(t: number, side: number): void {
    const pool = this.pool;
    const o = t << RECORD_SHIFT;
    const d = t << F64_SHIFT;
    const remaining = pool.f64[d + QUANTITY]! - pool.f64[d + FILLED]!;
    const peak = pool.peakOf(t);
    pool.f64[d + SHOWN] = peak !== 0 && peak < remaining ? peak : remaining;
    const meta = pool.i32[o + META]!;
    if ((meta & UNLISTED_BIT) !== 0) {
      this.ids.insert(t, pool.f64);
      this.users.append(t, this.unlistedUserId);
    }
    pool.i32[o + META] = withState(meta & ~UNLISTED_BIT, State.RESTING);
    const level = this.levels.append(side, t);
    this.pushLevel(side, pool.i32[o + PRICE]!, this.levels.visibleOf(level));
  }

  private pushLevel(side: number, price: number, quantity: number): void {
    this.events.level(side, price, quantity);
  }

  // ---- removal --------------------------------------------------------------------------

  /** Takes a live order out of the book or the stop list and finishes it with `reason`. */
  private cancelSlot(slot: number, reason: number): void {
    const pool = this.pool;
    const o = slot << RECORD_SHIFT;
    const d = slot << F64_SHIFT;
    const meta = pool.i32[o + META]!;
    const state = stateOf(meta);
    if (state === State.RESTING) {
      // The record knows its level: no price lookup (which, far from the touch, is a tree search).
      const side = sideOf(meta);
      const price = pool.i32[o + PRICE]!;
      this.pushLevel(side, price, this.levels.remove(side, pool.i32[o + LEVEL]!, slot));
    } else if (state === State.PENDING_STOP) {
      this.unlinkStop(slot);
    }
    this.finish(slot, reason, pool.f64[d + QUANTITY]! - pool.f64[d + FILLED]!);
  }

  private cancelSibling(slot: number): void {
    const sibling = this.pool.oco[slot]!;
    this.pool.unlinkOco(slot, sibling);
    this.cancelSlot(sibling, DoneReason.CANCELLED);
  }

  /**
   * Emits the order's done event and releases it. `remaining` is the unfilled quantity in lots
   * (for a market buy by quote: the unspent quote amount). A linked OCO leg is cancelled too.
   */
  private finish(slot: number, reason: number, remaining: number): void {
    const pool = this.pool;
    const o = slot << RECORD_SHIFT;
    const d = slot << F64_SHIFT;
    this.events.done(pool.f64[d + ID]!, this.userIdOf(slot), remaining, pool.f64[d + FILLED]!, reason);
    const meta = pool.i32[o + META]!;
    if ((meta & OCO_BIT) !== 0) this.cancelSibling(slot);
    if ((meta & UNLISTED_BIT) === 0) {
      this.ids.remove(slot, pool.f64);
      this.users.remove(slot);
    }
    pool.free(slot);
    this.live--;
  }

  // ---- stops ----------------------------------------------------------------------------

  /** Registers an accepted stop; it triggers at once if the last trade price already meets it. */
  private arm(slot: number): void {
    const pool = this.pool;
    const meta = pool.meta(slot);
    if (typeOf(meta) === OrderType.TRAILING_STOP) {
      pool.trailRef[slot] = this.lastPrice;
    } else if (this.lastPrice !== 0 && this.stopHit(slot, this.lastPrice, this.lastPrice)) {
      this.trigger(slot);
      return;
    }
    this.linkStop(slot);
  }

  /** Appends a stop to the pending list (acceptance order) and widens the scan bounds. */
  private linkStop(slot: number): void {
    const pool = this.pool;
    const i32 = pool.i32;
    const o = slot << RECORD_SHIFT;
    const meta = i32[o + META]!;
    if (typeOf(meta) === OrderType.TRAILING_STOP) this.trailingStops++;
    else if (sideOf(meta) === Side.BUY) this.minBuyStop = Math.min(this.minBuyStop, pool.stopPrice[slot]!);
    else this.maxSellStop = Math.max(this.maxSellStop, pool.stopPrice[slot]!);
    i32[o + META] = withState(meta, State.PENDING_STOP);
    i32[o + NEXT] = -1;
    i32[o + PREV] = this.stopTail;
    if (this.stopTail === -1) this.stopHead = slot;
    else i32[(this.stopTail << RECORD_SHIFT) + NEXT] = slot;
    this.stopTail = slot;
  }

  private unlinkStop(slot: number): void {
    const i32 = this.pool.i32;
    const prev = i32[(slot << RECORD_SHIFT) + PREV]!;
    const next = i32[(slot << RECORD_SHIFT) + NEXT]!;
    if (prev === -1) this.stopHead = next;
    else i32[(prev << RECORD_SHIFT) + NEXT] = next;
    if (next === -1) this.stopTail = prev;
    else i32[(next << RECORD_SHIFT) + PREV] = prev;
    if (typeOf(i32[(slot << RECORD_SHIFT) + META]!) === OrderType.TRAILING_STOP) this.trailingStops--;
  }

  /**
   * After an execution whose trades ran from `first` to `last` (monotonic, so these two are
   * its extremes), triggers every pending stop the trades reached, in acceptance order.
   */
  private checkStops(first: number, last: number): void {
    if (this.stopHead === -1) return;
    const high = Math.max(first, last);
    const low = Math.min(first, last);
    if (this.trailingStops === 0 && high < this.minBuyStop && low > this.maxSellStop) return;
    const pool = this.pool;
    let minBuy = MAX_INT32;
    let maxSell = 0;
    for (let s = this.stopHead; s !== -1;) {
      const next = pool.int(s, NEXT);
      if (this.stopHit(s, first, last)) {
        this.unlinkStop(s);
        this.trigger(s);
      } else if (typeOf(pool.meta(s)) !== OrderType.TRAILING_STOP) {
        if (sideOf(pool.meta(s)) === Side.BUY) minBuy = Math.min(minBuy, pool.stopPrice[s]!);
        else maxSell = Math.max(maxSell, pool.stopPrice[s]!);
      }
      s = next;
    }
    this.minBuyStop = minBuy;
    this.maxSellStop = maxSell;
  }

  /** Whether trades at `first` then `last` reach the stop; moves a trailing stop's reference. */
  private stopHit(slot: number, first: number, last: number): boolean {
    const pool = this.pool;
    const buy = sideOf(pool.meta(slot)) === Side.BUY;
    if (typeOf(pool.meta(slot)) !== OrderType.TRAILING_STOP) {
      const stop = pool.stopPrice[slot]!;
      return buy ? Math.max(first, last) >= stop : Math.min(first, last) <= stop;
    }
    return this.trail(slot, first, buy) || this.trail(slot, last, buy);
  }

  /** One trade at `price` for a trailing stop: a better price moves the reference, else test. */
  private trail(slot: number, price: number, buy: boolean): boolean {
    const ref = this.pool.trailRef[slot]!;
    if (ref === 0 || (buy ? price < ref : price > ref)) {
      this.pool.trailRef[slot] = price;
      return false;
    }
    return buy ? price >= this.trailStop(slot) : price <= this.trailStop(slot);
  }

  /**
   * Current trigger price of a trailing stop: reference ± offset, where a bps offset is
   * max(1, floor(reference × bps / 10,000)) ticks (exact: the product stays below 2^53).
   */
  private trailStop(slot: number): number {
    const pool = this.pool;
    const ref = pool.trailRef[slot]!;
    if (ref === 0) return 0;
    const meta = pool.meta(slot);
    const offset = isBps(meta)
      ? Math.max(1, Math.floor((ref * pool.trailOffset[slot]!) / BPS_DENOMINATOR))
      : pool.trailOffset[slot]!;
    return sideOf(meta) === Side.BUY ? ref + offset : ref - offset;
  }

  private trigger(slot: number): void {
    const pool = this.pool;
    const i32 = pool.i32;
    const o = slot << RECORD_SHIFT;
    i32[o + META] = withState(withTriggered(i32[o + META]!), State.NEW);
    const userId = this.users.idOf(i32[o + USER]!);
    this.events.push(EventKind.TRIGGERED, pool.id(slot), userId, 0, 0, this.lastPrice, 0, 0, 0);
    if ((i32[o + META]! & OCO_BIT) !== 0) this.cancelSibling(slot);
    i32[o + NEXT] = -1;
    if (this.triggerTail === -1) this.triggerHead = slot;
    else i32[(this.triggerTail << RECORD_SHIFT) + NEXT] = slot;
    this.triggerTail = slot;
  }

  /** Executes triggered stops FIFO; stops they trigger in turn join the back of the queue. */
  private runTriggers(): void {
    const pool = this.pool;
    while (this.triggerHead !== -1) {
      const slot = this.triggerHead;
      const next = (slot << RECORD_SHIFT) + NEXT;
      this.triggerHead = pool.i32[next]!;
      if (this.triggerHead === -1) this.triggerTail = -1;
      pool.i32[next] = -1;
      this.execute(slot, 0);
    }
  }

  // ---- views and state ------------------------------------------------------------------

  /** The user id of a live order (an unlisted one has no user record yet). */
  private userIdOf(slot: number): number {
    const i32 = this.pool.i32;
    const o = slot << RECORD_SHIFT;
    return (i32[o + META]! & UNLISTED_BIT) !== 0 ? this.unlistedUserId : this.users.idOf(i32[o + USER]!);
  }

  private view(slot: number): LiveOrderView {
    const pool = this.pool;
    const meta = pool.meta(slot);
    const sibling = pool.ocoOf(slot);
    const stopPrice =
      typeOf(meta) === OrderType.TRAILING_STOP ? this.trailStop(slot) : pool.stopPriceOf(slot);
    const userId = this.users.idOf(pool.int(slot, USER));
    return describeOrder(pool, slot, userId, stopPrice, sibling === -1 ? 0 : pool.id(sibling));
  }
}

function ocoBase(oco: PlaceOco): Omit<PlaceOrder, "orderId" | "type"> {
  return { userId: oco.userId, side: oco.side, quantity: oco.quantity, stp: oco.stp };
}

/** Orders that match without a price limit: market orders and triggered stop-market/trailing. */
function isMarketLike(meta: number): boolean {
  const type = typeOf(meta);
  return (
    type === OrderType.MARKET ||
    (isTriggered(meta) && type !== OrderType.STOP_LIMIT && type !== OrderType.LIMIT)
  );
}
