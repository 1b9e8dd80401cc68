import { describe, expect, it } from "vitest";
import { bookTable, doneTable, engineWith, eventsOf, table, tradesTable } from "./book-tables";

const BOOK = `
  side | id | user | price | qty
  sell | 1  | 1    | 102   | 10
  sell | 2  | 2    | 101   | 4
  sell | 3  | 3    | 101   | 6
  buy  | 4  | 4    | 99    | 5
`;

describe("limit orders", () => {
  it("rest at their price, FIFO within a level", () => {
    expect(bookTable(engineWith(BOOK))).toEqual(
      table(`
        side | price | orders
        ask  | 102   | #1:10
        ask  | 101   | #2:4 #3:6
        bid  | 99    | #4:5
      `),
    );
  });

  it("take at the makers' prices in price-time priority, and the rest of the order rests", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "buy", type: "limit", price: 102, quantity: 15 }),
    );
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #2    | 101   | 4
        #9    | #3    | 101   | 6
        #9    | #1    | 102   | 5
      `),
    );
    expect(bookTable(engine)).toEqual(
      table(`
        side | price | orders
        ask  | 102   | #1:5
        bid  | 99    | #4:5
      `),
    );
    const crossing = eventsOf(engine, (e) =>
      e.place({ orderId: 10, userId: 9, side: "buy", type: "limit", price: 103, quantity: 8 }),
    );
    expect(tradesTable(crossing)).toEqual(table(`taker | maker | price | qty\n#10 | #1 | 102 | 5`));
    expect(bookTable(engine)).toEqual(
      table(`
        side | price | orders
        bid  | 103   | #10:3
        bid  | 99    | #4:5
      `),
    );
  });
});

describe("market orders", () => {
  it("by base quantity sweep the book and expire what the book cannot fill", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "buy", type: "market", quantity: 25 }),
    );
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #2    | 101   | 4
        #9    | #3    | 101   | 6
        #9    | #1    | 102   | 10
      `),
    );
    expect(doneTable(events)).toEqual(
      table(`
        order | reason  | filled | remaining
        #2    | filled  | 4      | 0
        #3    | filled  | 6      | 0
        #1    | filled  | 10     | 0
        #9    | expired | 20     | 5
      `),
    );
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nbid | 99 | #4:5`));
  });

  it("buy by quote amount takes floor(unspent / price) lots per level and reports the unspent quote", () => {
    // 1,000 quote units: 4 lots @101 and 5 @101 (909 spent, 91 left), 91 < 102 so nothing more.
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "buy", type: "market", quoteQuantity: 1000 }),
    );
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #2    | 101   | 4
        #9    | #3    | 101   | 5
      `),
    );
    expect(doneTable(events).at(-1)).toEqual(["#9", "filled", "9", "91"]);
    expect(bookTable(engine)).toEqual(
      table(`
        side | price | orders
        ask  | 102   | #1:10
        ask  | 101   | #3:1
        bid  | 99    | #4:5
      `),
    );
  });

  it("buy by quote expires with its budget when the book runs out", () => {
    const engine = engineWith(`side | id | user | price | qty\nsell | 1 | 1 | 100 | 2`);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "buy", type: "market", quoteQuantity: 1000 }),
    );
    expect(doneTable(events).at(-1)).toEqual(["#9", "expired", "2", "800"]);
  });

  it("on an empty side expire at once", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) =>
      e.place({ orderId: 9, userId: 9, side: "sell", type: "market", quantity: 50 }),
    );
    expect(doneTable(events)).toEqual(
      table(`
        order | reason  | filled | remaining
        #4    | filled  | 5      | 0
        #9    | expired | 5      | 45
      `),
    );
  });
});
