import { OrderBook, Side } from "nodejs-order-book";
import { MatchingEngine, OK, type PlaceOrder } from "../../durable-objects/engine";
import { BUY } from "./markets";
import { OpKind, type Workload } from "./workload";

/** One engine under test: runs operation `i` of a workload, and reports its book. */
export interface Subject {
  run(w: Workload, i: number): void;
  /** Every level of the book, best first. */
  depth(): { bids: [number, number][]; asks: [number, number][] };
  /** Orders (and cancels) the subject refused. */
  rejected(): number;
}

export function pandora(): Subject {
  const engine = new MatchingEngine();
  // Reused command objects: the engine's API allocates nothing per operation, nor does this caller.
  const limit: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "limit", price: 1, quantity: 1 };
  const market: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "market", quantity: 1 };
  let rejected = 0;
  return {
    run(w, i) {
      const kind = w.kind[i];
      if (kind === OpKind.CANCEL) {
        // A cancel of an order that has traded away since the stream was generated is no refusal.
        engine.cancel(w.id[i]!);
      } else {
        const cmd = kind === OpKind.LIMIT ? limit : market;
        cmd.orderId = w.id[i]!;
        cmd.userId = w.user[i]!;
        cmd.side = w.side[i] === BUY ? "buy" : "sell";
        cmd.quantity = w.quantity[i]!;
        if (kind === OpKind.LIMIT) cmd.price = w.price[i]!;
        if (engine.place(cmd) !== OK) rejected++;
      }
      engine.events.clear();
    },
    depth: () => engine.depth(Number.MAX_SAFE_INTEGER),
    rejected: () => rejected,
  };
}

export function peer(): Subject {
  const book = new OrderBook();
  let rejected = 0;
  return {
    run(w, i) {
      const kind = w.kind[i];
      const side = w.side[i] === BUY ? Side.BUY : Side.SELL;
      if (kind === OpKind.CANCEL) book.cancel(String(w.id[i]));
      else if (kind === OpKind.MARKET) book.market({ side, size: w.quantity[i]! });
      else if (book.limit({ side, id: String(w.id[i]), size: w.quantity[i]!, price: w.price[i]! }).err)
        rejected++;
    },
    depth() {
      const [asks, bids] = book.depth();
      return { bids, asks };
    },
    rejected: () => rejected,
  };
}
