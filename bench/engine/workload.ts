import { EventKind, MatchingEngine, type PlaceOrder } from "../../durable-objects/engine";
import { mulberry32, normal } from "./prng";

export const OpKind = { LIMIT: 0, CANCEL: 1, MARKET: 2 } as const;
export const BUY = 0;

/** A pre-generated operation stream; order ids are 1..length (one per operation). */
export interface Workload {
  length: number;
  kind: Uint8Array;
  /** The new order's id, or the id to cancel. */
  id: Float64Array;
  side: Uint8Array;
  price: Int32Array;
  quantity: Int32Array;
}

const MID_START = 10_000;
const SIGMA = 100 / 6;

/** Buy and sell orders come from disjoint users, so self-trade prevention never differs from the peer. */
export const userOf = (id: number, side: number): number => (side === BUY ? 1 : 501) + (id % 500);

function record(w: Workload, i: number, kind: number, id: number, side: number, quantity: number): void {
  w.kind[i] = kind;
  w.id[i] = id;
  w.side[i] = side;
  w.quantity[i] = quantity;
}

/** Places an order of the generated stream on the generating engine (its user follows from id and side). */
function place(
  engine: MatchingEngine,
  order: Pick<PlaceOrder, "orderId" | "type" | "price" | "quantity">,
  side: number,
): void {
  engine.place({ ...order, userId: userOf(order.orderId, side), side: side === BUY ? "buy" : "sell" });
}

/**
 * The workload of issue 4: ~70% limits (normal prices around a drifting mid, clamped to
 * mid-50..mid+49, the crossing side with probability `crossProbability`), ~20% cancels of an
 * order live at that moment, ~10% market orders. Liveness comes from running this engine
 * while generating; both engines then replay the identical stream.
 */
export function generateWorkload(seed: number, length: number, crossProbability: number): Workload {
  const random = mulberry32(seed);
  const w: Workload = {
    length,
    kind: new Uint8Array(length),
    id: new Float64Array(length),
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
  let mid = MID_START;
  for (let i = 0; i < length; i++) {
    const id = i + 1;
    if (random() < 0.1) mid += random() < 0.5 ? -1 : 1;
    const r = random();
    if (r >= 0.7 && r < 0.9 && liveCount > 0) {
      const target = live[Math.floor(random() * liveCount)]!;
      w.kind[i] = OpKind.CANCEL;
      w.id[i] = target;
      engine.cancel(target);
    } else if (r >= 0.9) {
      const side = random() < 0.5 ? 0 : 1;
      const quantity = 1 + Math.floor(random() * 100);
      record(w, i, OpKind.MARKET, id, side, quantity);
      place(engine, { orderId: id, type: "market", quantity }, side);
    } else {
      const price = Math.min(mid + 49, Math.max(mid - 50, Math.round(mid + normal(random) * SIGMA)));
      const crossingSide = price >= mid ? 0 : 1;
      const side = random() < crossProbability ? crossingSide : 1 - crossingSide;
      const quantity = 1 + Math.floor(random() * 100);
      record(w, i, OpKind.LIMIT, id, side, quantity);
      w.price[i] = price;
      place(engine, { orderId: id, type: "limit", price, quantity }, side);
      live[liveCount] = id;
      position[id] = liveCount++;
    }
    const events = engine.events;
    for (let e = 0; e < events.count; e++) {
      if (events.kind[e] === EventKind.ORDER_DONE) {
        const done = events.orderId[e]!;
        if (position[done] !== -1) removeLive(done);
      }
    }
    events.clear();
  }
  return w;
}
