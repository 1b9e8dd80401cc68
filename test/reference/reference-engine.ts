import { OK, Reject } from "../../durable-objects/engine";
import { decodeOrder, OrderRequest } from "../../durable-objects/engine/order-request";
import { resolveConfig, type ResolvedConfig } from "../../durable-objects/engine/matching-engine";
import type {
  Amendment,
  Command,
  EngineConfig,
  EngineEvent,
  PlaceOco,
  PlaceOrder,
} from "../../durable-objects/engine";

/**
 * A deliberately simple twin of the matching engine for property tests: orders are objects in
 * one array, the book is found by filtering and sorting, nothing is optimised. It shares only
 * field validation (`decodeOrder`) with the engine; every matching rule is written again here,
 * straight from the engine's README.md. Events have the engine's plain-object shapes minus `seq`
 * and the level events (the test checks those against depth separately).
 */
type WithoutSeq<T> = T extends unknown ? Omit<T, "seq"> : never;
export type RefEvent = WithoutSeq<Exclude<EngineEvent, { type: "level" }>>;

type Side = "buy" | "sell";
type Kind = "limit" | "market" | "stop_loss" | "stop_limit" | "trailing_stop";
const KINDS: Kind[] = ["limit", "market", "stop_loss", "stop_limit", "trailing_stop"];
const TIFS = ["GTC", "IOC", "FOK"] as const;
const STPS = ["expire_taker", "expire_maker", "expire_both"] as const;

export interface RefOrder {
  id: number;
  user: number;
  side: Side;
  kind: Kind;
  price: number;
  stopPrice: number;
  quantity: number;
  filled: number;
  shown: number;
  peak: number;
  tif: (typeof TIFS)[number];
  postOnly: boolean;
  stp: (typeof STPS)[number];
  trailOffset: number;
  bps: boolean;
  trailRef: number;
  oco: RefOrder | null;
  state: "new" | "resting" | "stop";
  triggered: boolean;
  /** Queue position: larger is later in its level. */
  time: number;
  /** Position in the stop list. */
  armedAt: number;
}

export class ReferenceEngine {
  readonly events: RefEvent[] = [];
  /** Live orders in acceptance order. */
  orders: RefOrder[] = [];
  lastPrice = 0;
  private clock = 0;
  private queue: RefOrder[] = [];
  private readonly config: ResolvedConfig;

  constructor(config: EngineConfig = {}) {
    this.config = resolveConfig(config);
  }

  apply(c: Command): number {
    if (c.kind === "place") return this.place(c);
    if (c.kind === "place_oco") return this.placeOco(c);
    if (c.kind === "cancel") return this.cancel(c.orderId);
    if (c.kind === "cancel_all") return this.cancelAll(c.userId);
    return this.amend(c.orderId, c);
  }

  resting(side: Side): RefOrder[] {
    return this.orders
      .filter((o) => o.state === "resting" && o.side === side)
      .sort((a, b) => (side === "buy" ? b.price - a.price : a.price - b.price) || a.time - b.time);
  }

  /** The first order of `side`'s queue (what `resting(side)[0]` is, in one pass: books of thousands of orders stay quick). */
  best(side: Side): RefOrder | undefined {
    let best: RefOrder | undefined;
    for (const o of this.orders) {
      if (o.state !== "resting" || o.side !== side) continue;
      if (
        !best ||
        (side === "buy" ? o.price > best.price : o.price < best.price) ||
        (o.price === best.price && o.time < best.time)
      ) {
        best = o;
      }
    }
    return best;
  }

  stops(): RefOrder[] {
    return this.orders.filter((o) => o.state === "stop").sort((a, b) => a.armedAt - b.armedAt);
  }

  depth(): { bids: [number, number][]; asks: [number, number][] } {
    const levels = (side: Side): [number, number][] => {
      const out: [number, number][] = [];
      for (const o of this.resting(side)) {
        const last = out[out.length - 1];
        if (last && last[0] === o.price) last[1] += o.shown;
        else out.push([o.price, o.shown]);
      }
      return out;
    };
    return { bids: levels("buy"), asks: levels("sell") };
  }

  private find(id: number): RefOrder | undefined {
    return this.orders.find((o) => o.id === id);
  }

  private reject(orderId: unknown, userId: unknown, reason: number): number {
    const id = (v: unknown): number => (Number.isSafeInteger(v) && (v as number) >= 1 ? (v as number) : 0);
    this.events.push({ type: "rejected", orderId: id(orderId), userId: id(userId), reason });
    return reason;
  }

  place(c: PlaceOrder): number {
    const r = new OrderRequest();
    const code = decodeOrder(c, this.config, r) || this.admit(r, 1);
    if (code !== OK) return this.reject(c.orderId, c.userId, code);
    const o = this.accept(r);
    if (o.kind === "limit" || o.kind === "market") this.execute(o, r.quote);
    else this.arm(o);
    this.runQueue();
    return OK;
  }

  placeOco(c: PlaceOco): number {
    const base = { userId: c.userId, side: c.side, quantity: c.quantity, stp: c.stp };
    const a = new OrderRequest();
    const b = new OrderRequest();
    let code = decodeOrder({ ...base, orderId: c.orderId, type: "limit", price: c.price }, this.config, a);
    const stopKind = c.stopLimitPrice === undefined ? "stop_loss" : "stop_limit";
    const stopLeg = {
      ...base,
      orderId: c.stopOrderId,
      type: stopKind,
      price: c.stopLimitPrice,
      stopPrice: c.stopPrice,
    } as const;
    if (code === OK) code = decodeOrder(stopLeg, this.config, b);
    if (code === OK && c.orderId === c.stopOrderId) code = Reject.DUPLICATE_ORDER_ID;
    if (code === OK) code = this.admit(a, 2) || this.admit(b, 2);
    if (code !== OK) return this.reject(c.orderId, c.userId, code);
    const limit = this.accept(a);
    const stop = this.accept(b);
    limit.oco = stop;
    stop.oco = limit;
    this.execute(limit, 0);
    if (this.orders.includes(stop)) this.arm(stop);
    this.runQueue();
    return OK;
  }

  cancel(orderId: number): number {
    const o = this.find(orderId);
    if (!o) return this.reject(orderId, 0, Reject.UNKNOWN_ORDER);
    this.finish(o, "cancelled", o.quantity - o.filled);
    return OK;
  }

  cancelAll(userId: number): number {
    if (!Number.isSafeInteger(userId) || userId < 1) return this.reject(0, userId, Reject.INVALID_USER_ID);
    for (
      let o = this.orders.find((x) => x.user === userId);
      o;
      o = this.orders.find((x) => x.user === userId)
    ) {
      this.finish(o, "cancelled", o.quantity - o.filled);
    }
    return OK;
  }

  amend(orderId: number, change: Amendment): number {
    const o = this.find(orderId);
    if (!o) return this.reject(orderId, 0, Reject.UNKNOWN_ORDER);
    if (o.state !== "resting" || o.oco) return this.reject(orderId, o.user, Reject.NOT_AMENDABLE);
    const price = change.price ?? o.price;
    const quantity = change.quantity ?? o.quantity;
    const valid = (v: number, max: number): boolean => Number.isSafeInteger(v) && v >= 1 && v <= max;
    if (!valid(price, this.config.maxPrice)) return this.reject(orderId, o.user, Reject.INVALID_PRICE);
    if (!valid(quantity, this.config.maxQuantity) || quantity <= o.filled) {
      return this.reject(orderId, o.user, Reject.INVALID_QUANTITY);
    }
    const keepsPriority = price === o.price && quantity <= o.quantity;
    const code = keepsPriority
      ? OK
      : !this.inBand(price)
        ? Reject.PRICE_OUT_OF_BAND
        : o.postOnly && this.wouldTake(o.side, price)
          ? Reject.POST_ONLY_WOULD_TAKE
          : OK;
    if (code !== OK) return this.reject(orderId, o.user, code);
    o.price = price;
    o.quantity = quantity;
    const remaining = quantity - o.filled;
    this.events.push({ type: "amended", orderId, userId: o.user, price, quantity, remaining });
    if (keepsPriority) {
      o.shown = Math.min(o.shown, remaining);
      return OK;
    }
    o.state = "new";
    this.execute(o, 0);
    this.runQueue();
    return OK;
  }

  private admit(r: OrderRequest, slots: number): number {
    if (this.find(r.orderId)) return Reject.DUPLICATE_ORDER_ID;
    const kind = KINDS[r.type]!;
    const canRest = kind !== "market" && !(kind === "limit" && TIFS[r.tif] !== "GTC");
    if (canRest && this.orders.length + slots > this.config.maxOrders) return Reject.BOOK_FULL;
    if (r.stopPrice !== 0 && !this.inBand(r.stopPrice)) return Reject.PRICE_OUT_OF_BAND;
    if (r.price !== 0 && !this.inBand(r.price)) return Reject.PRICE_OUT_OF_BAND;
    const side: Side = r.side === 0 ? "buy" : "sell";
    return r.postOnly && this.wouldTake(side, r.price) ? Reject.POST_ONLY_WOULD_TAKE : OK;
  }

  private inBand(price: number): boolean {
    const band = this.config.priceBandTicks;
    return band === 0 || this.lastPrice === 0 || Math.abs(price - this.lastPrice) <= band;
  }

  private wouldTake(side: Side, price: number): boolean {
    const best = this.best(side === "buy" ? "sell" : "buy");
    return best !== undefined && (side === "buy" ? best.price <= price : best.price >= price);
  }

  private accept(r: OrderRequest): RefOrder {
    const o: RefOrder = {
      id: r.orderId,
      user: r.userId,
      side: r.side === 0 ? "buy" : "sell",
      kind: KINDS[r.type]!,
      price: r.price,
      stopPrice: r.stopPrice,
      quantity: r.quantity,
      filled: 0,
      shown: 0,
      peak: r.peak,
      tif: TIFS[r.tif]!,
      postOnly: r.postOnly,
      stp: STPS[r.stp]!,
      trailOffset: r.trailOffset,
      bps: r.bps,
      trailRef: 0,
      oco: null,
      state: "new",
      triggered: false,
      time: 0,
      armedAt: 0,
    };
    this.orders.push(o);
    this.events.push({
      type: "accepted",
      orderId: o.id,
      userId: o.user,
      side: o.side,
      price: o.price,
      quantity: o.quantity,
      quoteQuantity: r.quote,
    });
    return o;
  }

  private marketLike(o: RefOrder): boolean {
    return o.kind === "market" || (o.triggered && (o.kind === "stop_loss" || o.kind === "trailing_stop"));
  }

  /** Whether `maker` is reachable by taker `t` (price within its limit). */
  private reachable(t: RefOrder, maker: RefOrder): boolean {
    if (this.marketLike(t)) return true;
    return t.side === "buy" ? maker.price <= t.price : maker.price >= t.price;
  }

  private execute(t: RefOrder, quote: number): void {
    if (t.tif === "FOK" && !this.wouldFill(t)) return this.finish(t, "expired", t.quantity - t.filled);
    const { stopped, first, quoteLeft } = this.match(t, quote);
    const remaining = t.quantity - t.filled;
    if (quote !== 0) {
      const ask = this.best("sell");
      const spent = !stopped && (quoteLeft === 0 || (ask !== undefined && quoteLeft < ask.price));
      this.finish(t, spent ? "filled" : "expired", quoteLeft);
    } else if (remaining === 0) {
      this.finish(t, "filled", 0);
    } else if (stopped || this.marketLike(t) || t.tif !== "GTC") {
      this.finish(t, "expired", remaining);
    } else {
      t.state = "resting";
      t.shown = t.peak !== 0 ? Math.min(t.peak, remaining) : remaining;
      t.time = ++this.clock;
    }
    if (first !== 0) this.checkStops(first, this.lastPrice);
  }

  /** FOK, the simple way: match a copy of the book and see whether the copy fills. */
  private wouldFill(t: RefOrder): boolean {
    const twin = new ReferenceEngine(this.config);
    twin.orders = structuredClone(this.orders);
    twin.clock = this.clock;
    const taker = twin.orders.find((o) => o.id === t.id)!;
    twin.match(taker, 0);
    return taker.filled === taker.quantity;
  }

  private match(t: RefOrder, quote: number): { stopped: boolean; first: number; quoteLeft: number } {
    const opposite = t.side === "buy" ? "sell" : "buy";
    let quoteLeft = quote;
    let first = 0;
    let stopped = false;
    for (;;) {
      const m = this.best(opposite);
      if (!m || !this.reachable(t, m)) break;
      const cap = quote === 0 ? t.quantity - t.filled : Math.floor(quoteLeft / m.price);
      if (cap === 0) break;
      if (m.user === t.user) {
        if (t.stp !== "expire_taker") this.finish(m, "expired", m.quantity - m.filled);
        if (t.stp !== "expire_maker") {
          stopped = true;
          break;
        }
        continue;
      }
      const fill = Math.min(cap, m.shown);
      this.events.push({
        type: "trade",
        takerOrderId: t.id,
        takerUserId: t.user,
        makerOrderId: m.id,
        makerUserId: m.user,
        price: m.price,
        quantity: fill,
        takerSide: t.side,
      });
      if (t.oco) this.cancelSibling(t);
      if (m.oco) this.cancelSibling(m);
      t.filled += fill;
      m.filled += fill;
      m.shown -= fill;
      quoteLeft -= fill * m.price;
      if (first === 0) first = m.price;
      this.lastPrice = m.price;
      if (m.shown === 0) {
        if (m.filled < m.quantity) {
          m.shown = Math.min(m.peak, m.quantity - m.filled);
          m.time = ++this.clock;
        } else {
          this.finish(m, "filled", 0);
        }
      }
    }
    return { stopped, first, quoteLeft };
  }

  private finish(o: RefOrder, reason: "filled" | "cancelled" | "expired", remaining: number): void {
    this.events.push({ type: "done", orderId: o.id, userId: o.user, reason, remaining, filled: o.filled });
    this.orders = this.orders.filter((x) => x !== o);
    if (o.oco) this.cancelSibling(o);
  }

  private cancelSibling(o: RefOrder): void {
    const sibling = o.oco!;
    o.oco = null;
    sibling.oco = null;
    this.finish(sibling, "cancelled", sibling.quantity - sibling.filled);
  }

  private arm(o: RefOrder): void {
    if (o.kind === "trailing_stop") o.trailRef = this.lastPrice;
    else if (this.lastPrice !== 0 && this.hit(o, this.lastPrice, this.lastPrice)) return this.trigger(o);
    o.state = "stop";
    o.armedAt = ++this.clock;
  }

  private trailStop(o: RefOrder): number {
    const offset = o.bps ? Math.max(1, Math.floor((o.trailRef * o.trailOffset) / 10000)) : o.trailOffset;
    return o.side === "buy" ? o.trailRef + offset : o.trailRef - offset;
  }

  private hit(o: RefOrder, first: number, last: number): boolean {
    if (o.kind !== "trailing_stop") {
      return o.side === "buy" ? Math.max(first, last) >= o.stopPrice : Math.min(first, last) <= o.stopPrice;
    }
    for (const price of [first, last]) {
      if (o.trailRef === 0 || (o.side === "buy" ? price < o.trailRef : price > o.trailRef))
        o.trailRef = price;
      else if (o.side === "buy" ? price >= this.trailStop(o) : price <= this.trailStop(o)) return true;
    }
    return false;
  }

  private checkStops(first: number, last: number): void {
    for (const o of this.stops()) if (this.hit(o, first, last)) this.trigger(o);
  }

  private trigger(o: RefOrder): void {
    o.state = "new";
    o.triggered = true;
    this.events.push({ type: "triggered", orderId: o.id, userId: o.user, price: this.lastPrice });
    if (o.oco) this.cancelSibling(o);
    this.queue.push(o);
  }

  private runQueue(): void {
    for (let o = this.queue.shift(); o; o = this.queue.shift()) this.execute(o, 0);
  }
}
