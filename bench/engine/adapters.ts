import * as peerModule from "nodejs-order-book";
import * as engineModule from "../../durable-objects/engine";
import type { PlaceOrder } from "../../durable-objects/engine";
import * as markets from "./markets";
import * as workload from "./workload";
import type { Workload } from "./workload";

// Module-level copies of the imported values both `run`s read per operation: under Node's
// ESM-to-CommonJS transform (tsx) each read of an imported binding is a getter call, which cost
// the thin book's engine run ~15% in an in-process A/B (197 -> 177 ms a million operations): the
// harness's overhead, not either engine's. The peer's side codes are copied alike.
const { MatchingEngine, OK } = engineModule;
const { OrderBook, Side } = peerModule;
const { BUY } = markets;
const { CANCEL, LIMIT, MARKET } = workload.OpKind;
const PEER_BUY = Side.BUY;
const PEER_SELL = Side.SELL;

/** One engine under test: runs operation `i` of a workload, and reports its book. */
export interface Subject {
  run(w: Workload, i: number): void;
  /** Every level of the book, best first. */
  depth(): { bids: [number, number][]; asks: [number, number][] };
  /** Orders (and cancels) the subject refused. */
  rejected(): number;
}

// Subjects are classes, not closures: every fresh subject of a kind then runs the same
// already-optimized `run`, so the warm-up warms the adapter as well as the engine (a new
// closure per subject would start cold in the interpreter, for either engine alike).

class PandoraSubject implements Subject {
  private readonly engine = new MatchingEngine();
  // Reused command objects: the engine's API allocates nothing per operation, nor does this caller.
  private readonly limit: PlaceOrder = {
    orderId: 0,
    userId: 0,
    side: "buy",
    type: "limit",
    price: 1,
    quantity: 1,
  };
  private readonly market: PlaceOrder = { orderId: 0, userId: 0, side: "buy", type: "market", quantity: 1 };
  private refused = 0;

  run(w: Workload, i: number): void {
    const kind = w.kind[i];
    const engine = this.engine;
    if (kind === CANCEL) {
      // A cancel of an order that has traded away since the stream was generated is no refusal.
      engine.cancel(w.id[i]!);
    } else {
      const cmd = kind === LIMIT ? this.limit : this.market;
      cmd.orderId = w.id[i]!;
      cmd.userId = w.user[i]!;
      cmd.side = w.side[i] === BUY ? "buy" : "sell";
      cmd.quantity = w.quantity[i]!;
      if (kind === LIMIT) cmd.price = w.price[i]!;
      if (engine.place(cmd) !== OK) this.refused++;
    }
    engine.events.clear();
  }

  depth(): { bids: [number, number][]; asks: [number, number][] } {
    return this.engine.depth(Number.MAX_SAFE_INTEGER);
  }

  rejected(): number {
    return this.refused;
  }
}

class PeerSubject implements Subject {
  private readonly book = new OrderBook();
  private refused = 0;

  run(w: Workload, i: number): void {
    const kind = w.kind[i];
    const side = w.side[i] === BUY ? PEER_BUY : PEER_SELL;
    if (kind === CANCEL) this.book.cancel(String(w.id[i]));
    else if (kind === MARKET) this.book.market({ side, size: w.quantity[i]! });
    else if (this.book.limit({ side, id: String(w.id[i]), size: w.quantity[i]!, price: w.price[i]! }).err)
      this.refused++;
  }

  depth(): { bids: [number, number][]; asks: [number, number][] } {
    const [asks, bids] = this.book.depth();
    return { bids, asks };
  }

  rejected(): number {
    return this.refused;
  }
}

export const pandora = (): Subject => new PandoraSubject();
export const peer = (): Subject => new PeerSubject();
