import { OrderBook, Side } from "nodejs-order-book";
import { MatchingEngine, type PlaceOrder } from "../../durable-objects/engine";
import { BUY, OpKind, userOf, type Workload } from "./workload";

/** One engine under test: runs operation `i` of a workload, and reports its book. */
export interface Subject {
  run(w: Workload, i: number): void;
  depth(levels: number): { bids: [number, number][]; asks: [number, number][] };
}

export function pandora(): Subject {
  const engine = new MatchingEngine();
  // Reused command objects: the engine's API allocates nothing per operation, nor does this caller.
  const limit: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "limit", price: 1, quantity: 1 };
  const market: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "market", quantity: 1 };
  return {
    run(w, i) {
      const kind = w.kind[i];
      if (kind === OpKind.CANCEL) {
        engine.cancel(w.id[i]!);
      } else {
        const cmd = kind === OpKind.LIMIT ? limit : market;
        const side = w.side[i]!;
        cmd.orderId = w.id[i]!;
        cmd.userId = userOf(cmd.orderId, side);
        cmd.side = side === BUY ? "buy" : "sell";
        cmd.quantity = w.quantity[i]!;
        if (kind === OpKind.LIMIT) cmd.price = w.price[i]!;
        engine.place(cmd);
      }
      engine.events.clear();
    },
    depth: (levels) => engine.depth(levels),
  };
}

export function peer(): Subject {
  const book = new OrderBook();
  return {
    run(w, i) {
      const kind = w.kind[i];
      const side = w.side[i] === BUY ? Side.BUY : Side.SELL;
      if (kind === OpKind.CANCEL) book.cancel(String(w.id[i]));
      else if (kind === OpKind.MARKET) book.market({ side, size: w.quantity[i]! });
      else book.limit({ side, id: String(w.id[i]), size: w.quantity[i]!, price: w.price[i]! });
    },
    depth(levels) {
      const [asks, bids] = book.depth();
      return { bids: bids.slice(0, levels), asks: asks.slice(0, levels) };
    },
  };
}
