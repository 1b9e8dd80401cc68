import { describe, expect, it } from "vitest";
import { Reject } from "../../../durable-objects/engine";
import { bookTable, doneTable, engineWith, eventsOf, table, tradesTable } from "./book-tables";

const ASKS = `
  side | id | user | price | qty | peak
  sell | 1  | 1    | 100   | 3   |
  sell | 2  | 2    | 101   | 6   | 2
`;

describe("time in force", () => {
  it("GTC rests the unfilled rest", () => {
    const engine = engineWith(ASKS);
    eventsOf(engine, (e) =>
      e.place({
        orderId: 9,
        userId: 9,
        side: "buy",
        type: "limit",
        price: 100,
        quantity: 5,
        timeInForce: "GTC",
      }),
    );
    expect(bookTable(engine)).toEqual(
      table(`
        side | price | orders
        ask  | 101   | #2:2+4
        bid  | 100   | #9:2
      `),
    );
  });

  it("IOC fills what it can and never rests", () => {
    const engine = engineWith(ASKS);
    const events = eventsOf(engine, (e) =>
      e.place({
        orderId: 9,
        userId: 9,
        side: "buy",
        type: "limit",
        price: 100,
        quantity: 5,
        timeInForce: "IOC",
      }),
    );
    expect(doneTable(events).at(-1)).toEqual(["#9", "expired", "3", "2"]);
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 101 | #2:2+4`));
  });

  it("FOK expires untouched when the book cannot fill it all", () => {
    const engine = engineWith(ASKS);
    const events = eventsOf(engine, (e) =>
      e.place({
        orderId: 9,
        userId: 9,
        side: "buy",
        type: "limit",
        price: 101,
        quantity: 10,
        timeInForce: "FOK",
      }),
    );
    expect(tradesTable(events)).toEqual(table(`taker | maker | price | qty`));
    expect(doneTable(events)).toEqual(table(`order | reason | filled | remaining\n#9 | expired | 0 | 10`));
    expect(bookTable(engine)).toEqual(bookTable(engineWith(ASKS)));
  });

  it("FOK counts an iceberg's hidden quantity and fills completely", () => {
    const engine = engineWith(ASKS);
    const events = eventsOf(engine, (e) =>
      e.place({
        orderId: 9,
        userId: 9,
        side: "buy",
        type: "limit",
        price: 101,
        quantity: 9,
        timeInForce: "FOK",
      }),
    );
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #1    | 100   | 3
        #9    | #2    | 101   | 2
        #9    | #2    | 101   | 2
        #9    | #2    | 101   | 2
      `),
    );
    expect(doneTable(events).at(-1)).toEqual(["#9", "filled", "9", "0"]);
  });

  it("FOK does not count hidden iceberg quantity that would refresh behind the taker's own order", () => {
    const engine = engineWith(`
      side | id | user | price | qty | peak
      sell | 1  | 1    | 100   | 4   | 1
      sell | 2  | 9    | 100   | 1   |
    `);
    const events = eventsOf(engine, (e) =>
      e.place({
        orderId: 9,
        userId: 9,
        side: "buy",
        type: "limit",
        price: 100,
        quantity: 2,
        timeInForce: "FOK",
      }),
    );
    expect(doneTable(events)).toEqual(table(`order | reason | filled | remaining\n#9 | expired | 0 | 2`));
  });

  it("post-only is rejected when it would take, and rests when it would not", () => {
    const engine = engineWith(ASKS);
    const taking = {
      orderId: 9,
      userId: 9,
      side: "buy",
      type: "limit",
      price: 100,
      quantity: 1,
      postOnly: true,
    } as const;
    expect(engine.place(taking)).toBe(Reject.POST_ONLY_WOULD_TAKE);
    expect(engine.events.toArray()).toMatchObject([
      { type: "rejected", orderId: 9, userId: 9, reason: Reject.POST_ONLY_WOULD_TAKE },
    ]);
    expect(engine.place({ ...taking, price: 99 })).toBe(0);
    expect(bookTable(engine).at(-1)).toEqual(["bid", "99", "#9:1"]);
  });
});

describe("self-trade prevention (the taker's mode applies)", () => {
  const BOOK = `
    side | id | user | price | qty
    sell | 1  | 2    | 100   | 2
    sell | 2  | 7    | 100   | 2
    sell | 3  | 2    | 100   | 2
  `;
  const buy = { orderId: 9, userId: 7, side: "buy", type: "limit", price: 100, quantity: 6 } as const;

  it("expire_taker (the default) expires the taker's rest at its own order; the maker stays", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) => e.place(buy));
    expect(tradesTable(events)).toEqual(table(`taker | maker | price | qty\n#9 | #1 | 100 | 2`));
    expect(doneTable(events)).toEqual(
      table(`
        order | reason  | filled | remaining
        #1    | filled  | 2      | 0
        #9    | expired | 2      | 4
      `),
    );
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 100 | #2:2 #3:2`));
  });

  it("expire_maker cancels the taker's own resting order and keeps matching", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) => e.place({ ...buy, stp: "expire_maker" }));
    expect(tradesTable(events)).toEqual(
      table(`
        taker | maker | price | qty
        #9    | #1    | 100   | 2
        #9    | #3    | 100   | 2
      `),
    );
    expect(doneTable(events)).toEqual(
      table(`
        order | reason  | filled | remaining
        #1    | filled  | 2      | 0
        #2    | expired | 0      | 2
        #3    | filled  | 2      | 0
      `),
    );
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nbid | 100 | #9:2`));
  });

  it("expire_both expires the maker and the taker", () => {
    const engine = engineWith(BOOK);
    const events = eventsOf(engine, (e) => e.place({ ...buy, stp: "expire_both" }));
    expect(doneTable(events)).toEqual(
      table(`
        order | reason  | filled | remaining
        #1    | filled  | 2      | 0
        #2    | expired | 0      | 2
        #9    | expired | 2      | 4
      `),
    );
    expect(bookTable(engine)).toEqual(table(`side | price | orders\nask | 100 | #3:2`));
  });
});
