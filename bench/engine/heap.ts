import { OrderBook, Side } from "nodejs-order-book";
import { MatchingEngine } from "../../durable-objects/engine";
import { BUY, type Market, type Quote } from "./markets";
import { heapPerOrder } from "./measure";
import { mulberry32 } from "./prng";

const SEED = 42;

/** Calls `add` for each order of a resting book of `n` orders from 1,000 users on `market`. */
function restingBook(
  market: Market,
  n: number,
  add: (id: number, user: number, side: number, price: number, quantity: number) => void,
): void {
  const random = mulberry32(SEED);
  const quote: Quote = { price: 0, side: 0 };
  for (let i = 0; i < n; i++) {
    market.resting(random, market.mid, i, quote);
    add(i + 1, 1 + (i % 1000), quote.side, quote.price, 1 + Math.floor(random() * 100));
  }
}

/**
 * Bytes per resting order of this engine and of the peer, each created inside the measurement.
 * A large book's records live in growable SharedArrayBuffers, which process.memoryUsage() does
 * not see: the engine's `sharedBytes` adds them.
 */
export function heap(market: Market, orders: number): { ours: number; theirs: number } {
  const ours = heapPerOrder(
    (n) => {
      const engine = new MatchingEngine();
      restingBook(market, n, (orderId, userId, side, price, quantity) => {
        engine.place({
          orderId,
          userId,
          side: side === BUY ? "buy" : "sell",
          type: "limit",
          price,
          quantity,
        });
        engine.events.clear();
      });
      if (engine.orderCount !== n) throw new Error(`the resting book of ${market.name} crossed`);
      return engine;
    },
    orders,
    (engine) => engine.sharedBytes,
  );
  const theirs = heapPerOrder((n) => {
    const book = new OrderBook();
    restingBook(market, n, (id, _user, side, price, size) => {
      book.limit({ id: String(id), side: side === BUY ? Side.BUY : Side.SELL, price, size });
    });
    return book;
  }, orders);
  return { ours, theirs };
}
