import { describe, expect, it } from "vitest";
import {
  EventKind,
  MatchingEngine,
  Reject,
  type Command,
  type EngineEvent,
} from "../../../durable-objects/engine";
import { ReferenceEngine } from "../../reference/reference-engine";
import { bookTable, engineWith, eventsOf, table, tradesTable } from "./book-tables";

const BOOK = `
  side | id | user | price | qty
  buy  | 1  | 1    | 100   | 5
  buy  | 2  | 2    | 100   | 5
  buy  | 3  | 1    | 99    | 5
  sell | 4  | 3    | 102   | 5
`;

describe("amend", () => {
  it("reducing the quantity keeps time priority", () => {
    const engine = engineWith(BOOK);
    expect(engine.amend(1, { quantity: 2 })).toBe(0);
    expect(bookTable(engine)).toEqual(
      table(`
        side | price | orders
        ask  | 102   | #4:5
        bid  | 100   | #1:2 #2:5
        bid  | 99    | #3:5
      `),
    );
  });

  it("increasing the quantity loses priority", () => {
    const engine = engineWith(BOOK);
    engine.amend(1, { quantity: 6 });
    expect(bookTable(engine)[2]).toEqual(["bid", "100", "#2:5 #1:6"]);
  });

  it("a price change loses priority and may trade at the new price", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) => e.amend(3, { price: 102, quantity: 7 }));
    expect(events[1]).toMatchObject({ type: "amended", orderId: 3, price: 102, quantity: 7, remaining: 7 });
    expect(tradesTable(events)).toEqual(table(`taker | maker | price | qty\n#3 | #4 | 102 | 5`));
    expect(bookTable(engine)[1]).toEqual(["bid", "102", "#3:2"]);
  });

  it("rejects unknown orders, a quantity not above the filled part, and pending stops", () => {
    const engine = engineWith(BOOK);
    engine.place({ orderId: 9, userId: 1, side: "buy", type: "stop_loss", stopPrice: 110, quantity: 1 });
    expect(engine.amend(42, { quantity: 1 })).toBe(Reject.UNKNOWN_ORDER);
    expect(engine.amend(1, { quantity: 0 })).toBe(Reject.INVALID_QUANTITY);
    expect(engine.amend(9, { quantity: 2 })).toBe(Reject.NOT_AMENDABLE);
  });
});

describe("cancel", () => {
  it("removes one order, or every order of a user in acceptance order", () => {
    const engine = engineWith(BOOK);
    expect(engine.cancel(2)).toBe(0);
    expect(engine.cancel(2)).toBe(Reject.UNKNOWN_ORDER);
    const events = eventsOf(engine, (e) => e.cancelAll(1));
    expect(events.filter((e) => e.type === "done").map((e) => e.type === "done" && e.orderId)).toEqual([
      1, 3,
    ]);
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 102 | #4:5`));
    expect(engine.openOrders(1)).toEqual([]);
  });
});

describe("events", () => {
  it("carry monotonic sequence numbers and the level changes a depth feed needs", () => {
    const engine = new MatchingEngine();
    engine.place({ orderId: 1, userId: 1, side: "sell", type: "limit", price: 101, quantity: 3 });
    engine.place({ orderId: 2, userId: 2, side: "buy", type: "limit", price: 101, quantity: 1 });
    const seen: EngineEvent[] = [];
    engine.events.drainTo((events, i) => seen.push(events.toObject(i)));
    expect(engine.events.count).toBe(0);
    expect(seen).toEqual([
      {
        type: "accepted",
        seq: 1,
        orderId: 1,
        userId: 1,
        side: "sell",
        price: 101,
        quantity: 3,
        quoteQuantity: 0,
      },
      { type: "level", seq: 2, side: "sell", price: 101, quantity: 3 },
      {
        type: "accepted",
        seq: 3,
        orderId: 2,
        userId: 2,
        side: "buy",
        price: 101,
        quantity: 1,
        quoteQuantity: 0,
      },
      {
        type: "trade",
        seq: 4,
        takerOrderId: 2,
        takerUserId: 2,
        makerOrderId: 1,
        makerUserId: 1,
        price: 101,
        quantity: 1,
        takerSide: "buy",
      },
      { type: "level", seq: 5, side: "sell", price: 101, quantity: 2 },
      { type: "done", seq: 6, orderId: 2, userId: 2, reason: "filled", remaining: 0, filled: 1 },
    ]);
  });

  it("are readable straight from the typed arrays without allocating", () => {
    const engine = engineWith(BOOK);
    engine.cancel(42);
    expect(engine.events.count).toBe(1);
    expect(engine.events.kind(0)).toBe(EventKind.REJECTED);
    expect(engine.events.code(0)).toBe(Reject.UNKNOWN_ORDER);
  });

  it("reject invalid commands with a reason code", () => {
    const engine = new MatchingEngine({ maxOrders: 1 });
    const limit = { orderId: 1, userId: 1, side: "buy", type: "limit", price: 100, quantity: 1 } as const;
    expect(engine.place({ ...limit, price: 1.5 })).toBe(Reject.INVALID_PRICE);
    expect(engine.place({ ...limit, quantity: 0 })).toBe(Reject.INVALID_QUANTITY);
    expect(engine.place({ ...limit, orderId: -1 })).toBe(Reject.INVALID_ORDER_ID);
    expect(engine.place({ ...limit, type: "market" })).toBe(Reject.INVALID_PRICE);
    expect(engine.place({ ...limit, visibleQuantity: 2 })).toBe(Reject.INVALID_VISIBLE_QUANTITY);
    expect(engine.place({ ...limit, timeInForce: "IOC", postOnly: true })).toBe(Reject.INVALID_POST_ONLY);
    expect(engine.place(limit)).toBe(0);
    expect(engine.place(limit)).toBe(Reject.DUPLICATE_ORDER_ID);
    expect(engine.place({ ...limit, orderId: 2 })).toBe(Reject.BOOK_FULL);
    expect(engine.apply({ kind: "nope" } as unknown as Command)).toBe(Reject.INVALID_COMMAND);
  });

  it("refuse a live order's id again, whatever order ids came in, and after a restore", () => {
    const engine = new MatchingEngine();
    const limit = { userId: 1, side: "buy", type: "limit", price: 100, quantity: 1 } as const;
    for (const orderId of [7, 3]) expect(engine.place({ ...limit, orderId })).toBe(0);
    const restored = MatchingEngine.restore(engine.snapshot());
    for (const book of [engine, restored]) {
      expect(book.place({ ...limit, orderId: 7 })).toBe(Reject.DUPLICATE_ORDER_ID);
      expect(book.place({ ...limit, orderId: 3 })).toBe(Reject.DUPLICATE_ORDER_ID);
      expect(book.place({ ...limit, orderId: 5 })).toBe(0);
      expect(book.place({ ...limit, orderId: 5 })).toBe(Reject.DUPLICATE_ORDER_ID);
    }
  });

  it("reject prices outside the band around the last trade", () => {
    const engine = engineWith(BOOK, new MatchingEngine({ priceBandTicks: 10 }));
    engine.place({ orderId: 9, userId: 9, side: "sell", type: "market", quantity: 1 }); // last 100
    const far = { orderId: 10, userId: 9, side: "sell", type: "limit", price: 111, quantity: 1 } as const;
    expect(engine.place(far)).toBe(Reject.PRICE_OUT_OF_BAND);
    expect(engine.place({ ...far, price: 110 })).toBe(0);
  });
});

describe("queries", () => {
  it("answer best prices, depth, an order and a user's open orders", () => {
    const engine = engineWith(BOOK);
    expect([engine.bestBid(), engine.bestAsk()]).toEqual([100, 102]);
    expect(engine.depth(1)).toEqual({ bids: [[100, 10]], asks: [[102, 5]] });
    expect(engine.getOrder(3)).toMatchObject({ orderId: 3, userId: 1, side: "buy", price: 99, remaining: 5 });
    expect(engine.openOrders(1).map((o) => o.orderId)).toEqual([1, 3]);
    expect(new MatchingEngine().bestBid()).toBeNull();
  });
});

describe("snapshots", () => {
  it("restore the whole state: same hash, same behaviour afterwards", () => {
    const engine = engineWith(BOOK);
    engine.place({
      orderId: 7,
      userId: 4,
      side: "sell",
      type: "trailing_stop",
      trailingOffset: 1,
      quantity: 2,
    });
    engine.placeOco({
      orderId: 8,
      stopOrderId: 9,
      userId: 5,
      side: "buy",
      quantity: 1,
      price: 98,
      stopPrice: 103,
    });
    const restored = MatchingEngine.restore(engine.snapshot());
    expect(restored.stateHash()).toBe(engine.stateHash());
    expect(bookTable(restored)).toEqual(bookTable(engine));
    const next: Command = {
      kind: "place",
      orderId: 10,
      userId: 6,
      side: "sell",
      type: "market",
      quantity: 12,
    };
    engine.events.clear();
    engine.apply(next);
    restored.apply(next);
    expect(restored.events.toArray()).toEqual(engine.events.toArray());
    expect(restored.stateHash()).toBe(engine.stateHash());
  });

  it("are compact", () => {
    const engine = engineWith(BOOK);
    expect(engine.snapshot().length).toBeLessThan(120);
  });
});

describe("growth from small buffers", () => {
  /** A deterministic mixed log: 200 users, prices over 3,000 ticks, sweeps that emit hundreds of events. */
  function mixedLog(length: number): Command[] {
    let state = 12345;
    const random = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return Math.floor((state / 4294967296) * n);
    };
    const log: Command[] = [];
    for (let id = 1; id <= length; id++) {
      const userId = 1 + random(200);
      const side = random(2) === 0 ? "buy" : "sell";
      const r = random(100);
      if (r < 15 && id > 1) log.push({ kind: "cancel", orderId: 1 + random(id - 1) });
      else if (r < 20 && id > 1)
        log.push({ kind: "amend", orderId: 1 + random(id - 1), quantity: 1 + random(50) });
      else if (r < 23) log.push({ kind: "place", orderId: id, userId, side, type: "market", quantity: 150 });
      else if (r < 26) {
        const stopPrice = 1000 + random(3000);
        log.push({
          kind: "place",
          orderId: id,
          userId,
          side,
          type: "stop_limit",
          stopPrice,
          price: stopPrice,
          quantity: 5,
        });
      } else {
        const price = side === "buy" ? 1000 + random(1600) : 2400 + random(1600);
        const iceberg = random(10) === 0 ? { visibleQuantity: 2 } : {};
        log.push({
          kind: "place",
          orderId: id,
          userId,
          side,
          type: "limit",
          price,
          quantity: 1 + random(20),
          ...iceberg,
        });
      }
    }
    return log;
  }

  it("grows the pool from one slot, the user records, the level window and the event buffer like the reference", () => {
    const engine = new MatchingEngine({ initialOrders: 1 });
    const reference = new ReferenceEngine({ initialOrders: 1 });
    let mostEvents = 0;
    let mostOrders = 0;
    for (const command of mixedLog(2000)) {
      expect(engine.apply(command)).toBe(reference.apply(command));
      const events = engine.events.toArray();
      engine.events.clear();
      mostEvents = Math.max(mostEvents, events.length);
      mostOrders = Math.max(mostOrders, engine.orderCount);
      const comparable = events.filter((e) => e.type !== "level").map(({ seq: _seq, ...rest }) => rest);
      expect(comparable).toEqual(reference.events.splice(0));
    }
    expect(mostEvents).toBeGreaterThan(64);
    expect(engine.depth(Number.MAX_SAFE_INTEGER)).toEqual(reference.depth());
    expect(engine.orderCount).toBe(reference.orders.length);
    expect(mostOrders).toBeGreaterThan(300);
    for (let userId = 1; userId <= 200; userId++) {
      const ids = reference.orders.filter((o) => o.user === userId).map((o) => o.id);
      expect(engine.openOrders(userId).map((o) => o.orderId)).toEqual(ids);
    }
    const restored = MatchingEngine.restore(engine.snapshot());
    expect(restored.stateHash()).toBe(engine.stateHash());
  });
});
