import { describe, expect, it } from "vitest";
import { MatchingEngine, type PlaceOrder } from "../../../durable-objects/engine";
import { bookTable, doneTable, engineWith, eventsOf, table, tradesTable } from "./book-tables";

const BOOK = `
  side | id | user | price | qty
  sell | 1  | 1    | 103   | 10
  sell | 2  | 1    | 102   | 10
  sell | 3  | 1    | 101   | 1
  buy  | 4  | 2    | 99    | 10
  buy  | 5  | 2    | 98    | 10
`;

const trade = (engine: MatchingEngine, orderId: number, side: "buy" | "sell", quantity: number) =>
  eventsOf(engine, (e) => e.place({ orderId, userId: 8, side, type: "market", quantity }));

const triggered = (events: ReturnType<typeof trade>) =>
  events.flatMap((e) => (e.type === "triggered" ? [`#${e.orderId}@${e.price}`] : []));

describe("stop orders", () => {
  it("stop-loss (stop-market) waits for a trade at or through its stop price, then takes", () => {
    const engine = engineWith(BOOK);
    engine.place({ orderId: 20, userId: 3, side: "sell", type: "stop_loss", stopPrice: 98, quantity: 4 });
    expect(engine.getOrder(20)?.status).toBe("pending_stop");
    expect(triggered(trade(engine, 30, "sell", 10))).toEqual([]); // last trade 99
    const events = trade(engine, 31, "sell", 1); // last trade 98: triggers
    expect(triggered(events)).toEqual(["#20@98"]);
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #31   | #5    | 98    | 1
        #20   | #5    | 98    | 4
      `),
    );
  });

  it("stop-limit enters as a limit order at its limit price when triggered", () => {
    const engine = engineWith(BOOK);
    engine.place({
      orderId: 20,
      userId: 3,
      side: "buy",
      type: "stop_limit",
      stopPrice: 101,
      price: 102,
      quantity: 15,
    });
    const events = trade(engine, 30, "buy", 1); // trades at 101
    expect(triggered(events)).toEqual(["#20@101"]);
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #30   | #3    | 101   | 1
        #20   | #2    | 102   | 10
      `),
    );
    expect(bookTable(engine).slice(1, 3)).toEqual(
      table(`
        ask | 103 | #1:10
        bid | 102 | #20:5
      `),
    );
  });

  it("a stop whose price the last trade already reached triggers on placement", () => {
    const engine = engineWith(BOOK);
    trade(engine, 30, "sell", 1); // last trade 99
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 20, userId: 3, side: "sell", type: "stop_loss", stopPrice: 100, quantity: 1 }),
    );
    expect(triggered(events)).toEqual(["#20@99"]);
  });

  it("stops triggered together enter in acceptance order, and their trades can trigger more (FIFO)", () => {
    const engine = engineWith(BOOK);
    const stop = (orderId: number, stopPrice: number): PlaceOrder => ({
      orderId,
      userId: 3,
      side: "sell",
      type: "stop_loss",
      stopPrice,
      quantity: 5,
    });
    engine.place(stop(20, 98)); // triggered later by #21's and #22's trades at 98
    engine.place(stop(21, 99));
    engine.place(stop(22, 99));
    const events = trade(engine, 30, "sell", 1); // trade at 99
    expect(triggered(events)).toEqual(["#21@99", "#22@99", "#20@98"]);
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #30   | #4    | 99    | 1
        #21   | #4    | 99    | 5
        #22   | #4    | 99    | 4
        #22   | #5    | 98    | 1
        #20   | #5    | 98    | 5
      `),
    );
  });
});

describe("trailing stops", () => {
  it("in ticks follow the best price since placement and trigger when it retreats by the offset", () => {
    const engine = engineWith(BOOK);
    trade(engine, 30, "buy", 1); // last 101
    engine.place({
      orderId: 20,
      userId: 3,
      side: "sell",
      type: "trailing_stop",
      trailingOffset: 2,
      quantity: 2,
    });
    expect(engine.getOrder(20)?.stopPrice).toBe(99);
    trade(engine, 31, "buy", 1); // 102: the stop moves up to 100
    expect(engine.getOrder(20)?.stopPrice).toBe(100);
    expect(triggered(trade(engine, 32, "sell", 1))).toEqual(["#20@99"]); // 99 <= 100
  });

  it("in basis points use max(1, floor(reference x bps / 10,000)) ticks", () => {
    const engine = engineWith(
      `side | id | user | price | qty\nsell | 1 | 1 | 10050 | 5\nbuy | 2 | 1 | 10000 | 5`,
    );
    trade(engine, 30, "sell", 1); // last 10,000
    engine.place({
      orderId: 20,
      userId: 3,
      side: "buy",
      type: "trailing_stop",
      trailingOffset: 49,
      trailingUnit: "bps",
      quantity: 1,
    });
    // floor(10,000 x 49 / 10,000) = 49 ticks above the low of 10,000
    expect(engine.getOrder(20)?.stopPrice).toBe(10049);
    expect(triggered(trade(engine, 31, "buy", 1))).toEqual(["#20@10050"]);
  });
});

describe("OCO", () => {
  const oco = {
    orderId: 20,
    stopOrderId: 21,
    userId: 3,
    side: "sell",
    quantity: 5,
    price: 104,
    stopPrice: 98,
  } as const;

  it("a fill of the limit leg cancels the stop leg", () => {
    const engine = engineWith(BOOK);
    engine.placeOco(oco);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 30, userId: 8, side: "buy", type: "limit", price: 104, quantity: 22 }),
    );
    expect(tradesTable(events).at(-1)).toEqual(["#30", "#20", "104", "1"]);
    expect(doneTable(events)).toContainEqual(["#21", "cancelled", "0", "5"]);
    expect(engine.getOrder(20)?.remaining).toBe(4);
  });

  it("a trigger of the stop leg cancels the limit leg", () => {
    const engine = engineWith(BOOK);
    engine.placeOco(oco);
    const events = trade(engine, 30, "sell", 11); // trades at 99 then 98
    expect(triggered(events)).toEqual(["#21@98"]);
    expect(doneTable(events)).toContainEqual(["#20", "cancelled", "0", "5"]);
    expect(bookTable(engine).some((row) => row[2]?.includes("#20"))).toBe(false);
  });

  it("cancelling one leg cancels both", () => {
    const engine = engineWith(BOOK);
    engine.placeOco(oco);
    expect(doneTable(eventsOf(engine, (e) => e.cancel(21)))).toEqual(
      table(`
        order | reason    | filled | remaining
        #21   | cancelled | 0      | 5
        #20   | cancelled | 0      | 5
      `),
    );
    expect(engine.orderCount).toBe(5);
  });
});

describe("iceberg orders", () => {
  it("show a peak; each refreshed slice goes to the back of its level's queue", () => {
    const engine = engineWith(`
      side | id | user | price | qty | peak
      sell | 1  | 1    | 100   | 7   | 3
      sell | 2  | 2    | 100   | 2   |
    `);
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 100 | #1:3+4 #2:2`));
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "buy", type: "market", quantity: 6 }),
    );
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #1    | 100   | 3
        #9    | #2    | 100   | 2
        #9    | #1    | 100   | 1
      `),
    );
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 100 | #1:2+1`));
    expect(engine.depth(1)).toEqual({ bids: [], asks: [[100, 2]] });
  });
});
