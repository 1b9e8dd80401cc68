import { EventKind, MatchingEngine, type PlaceOrder } from "../../durable-objects/engine";
import { BUY, type Market, type Quote } from "./markets";
import { mulberry32 } from "./prng";

export const OpKind = { LIMIT: 0, CANCEL: 1, MARKET: 2 } as const;

/** A pre-generated operation stream; order ids are 1..length (one per operation). */
export interface Workload {
  length: number;
  kind: Uint8Array;
  /** The new order's id, or the id to cancel. */
  id: Float64Array;
  /** The new order's user (drawn here, so the subject under test does no arithmetic for it). */
  user: Int32Array;
  side: Uint8Array;
  price: Int32Array;
  quantity: Int32Array;
}

/** Buy and sell orders come from disjoint users, so self-trade prevention never differs from the peer. */
const userOf = (id: number, side: number): number => (side === BUY ? 1 : 501) + (id % 500);

/**
 * The workload of issue 4 on `market`: ~70% limit orders (price and side from the market
 * model), ~20% cancels of an order live at that moment, ~10% market orders (50/50 sides);
 * sizes 1..100 lots. Liveness comes from running this engine while generating; every subject
 * then replays the identical stream.
 */
export function generateWorkload(seed: number, length: number, market: Market): Workload {
  const random = mulberry32(seed);
  const w: Workload = {
    length,
    kind: new Uint8Array(length),
    id: new Float64Array(length),
    user: new Int32Array(length),
    side: new Uint8Array(length),
    price: new Int32Array(length),
    quantity: new Int32Array(length),
  };
  const engine = new MatchingEngine();
  const live = new Float64Array(length + 1);
  const position = new Int32Array(length + 1).fill(-1);
  let liveCount = 0;
  const removeLive = (id: number): void => {
    const at = position[id]!;
    const last = live[--liveCount]!;
    live[at] = last;
    position[last] = at;
    position[id] = -1;
  };
  const quote: Quote = { price: 0, side: 0 };
  // The same two reused command shapes as the benchmark's adapter (adapters.ts): the engine's
  // property accesses see two shapes here and there, so generating does not skew its JIT state.
  const limitCmd: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "limit", price: 1, quantity: 1 };
  const marketCmd: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "market", quantity: 1 };
  let mid = market.mid;
  for (let i = 0; i < length; i++) {
    const id = i + 1;
    mid = market.walk(random, mid);
    const r = random();
    if (r >= 0.7 && r < 0.9 && liveCount > 0) {
      const target = live[Math.floor(random() * liveCount)]!;
      w.kind[i] = OpKind.CANCEL;
      w.id[i] = target;
      engine.cancel(target);
    } else {
      const isMarket = r >= 0.9;
      if (isMarket) quote.side = random() < 0.5 ? 0 : 1;
      else market.limit(random, mid, quote);
      const quantity = 1 + Math.floor(random() * 100);
      w.kind[i] = isMarket ? OpKind.MARKET : OpKind.LIMIT;
      w.id[i] = id;
      w.user[i] = userOf(id, quote.side);
      w.side[i] = quote.side;
      w.quantity[i] = quantity;
      const order = isMarket ? marketCmd : limitCmd;
      order.orderId = id;
      order.userId = w.user[i]!;
      order.side = quote.side === BUY ? "buy" : "sell";
      order.quantity = quantity;
      if (!isMarket) {
        order.price = w.price[i] = quote.price;
        live[liveCount] = id;
        position[id] = liveCount++;
      }
      engine.place(order);
    }
    const events = engine.events;
    for (let e = 0; e < events.count; e++) {
      if (events.kind(e) === EventKind.REJECTED) throw new Error(`workload order ${id} was rejected`);
      if (events.kind(e) === EventKind.ORDER_DONE) {
        const done = events.orderId(e);
        if (position[done] !== -1) removeLive(done);
      }
    }
    events.clear();
  }
  return w;
}
