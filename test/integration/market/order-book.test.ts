import { describe, expect, it } from "vitest";
import { configuredBook } from "./helpers";

describe("OrderBook object: commands", () => {
  it("matches a crossing order and reports fills to both sides", async () => {
    const book = await configuredBook("CMD-USDT");
    const sell = await book.place({
      orderId: "s1",
      userId: "alice",
      side: "sell",
      type: "limit",
      price: "64000.10",
      quantity: "0.5",
    });
    expect(sell).toMatchObject({
      ok: true,
      order: { status: "new", remainingQuantity: "0.50000" },
      fills: [],
    });
    const buy = await book.place({
      orderId: "b1",
      clientOrderId: "mine-1",
      userId: "bob",
      side: "buy",
      type: "limit",
      price: "64001.00",
      quantity: "0.2",
    });
    expect(buy).toMatchObject({
      ok: true,
      order: {
        status: "filled",
        filledQuantity: "0.20000",
        remainingQuantity: "0.00000",
        clientOrderId: "mine-1",
      },
      fills: [{ price: "64000.10", quantity: "0.20000", liquidity: "taker", counterOrderId: "s1" }],
    });
    const depth = await book.depth(10);
    expect(depth).toMatchObject({ symbol: "CMD-USDT", bids: [], asks: [["64000.10", "0.30000"]] });
    expect(depth!.last_update_id).toBeGreaterThan(0);
  });

  it("placing a known order id again returns the original result (idempotent)", async () => {
    const book = await configuredBook("IDEM-USDT");
    const first = await book.place({
      orderId: "o1",
      userId: "u",
      side: "buy",
      type: "limit",
      price: "100",
      quantity: "1",
    });
    const again = await book.place({
      orderId: "o1",
      userId: "u",
      side: "buy",
      type: "limit",
      price: "200",
      quantity: "2",
    });
    expect(again).toEqual({ ...first, duplicate: true });
    expect((await book.sequence()).orderCount).toBe(1);
    expect(await book.getOrder({ orderId: "o1" })).toMatchObject({
      known: true,
      userId: "u",
      live: { price: "100.00", remaining: "1.00000" },
    });
    expect(await book.getOrder({ orderId: "nope" })).toEqual({ known: false });
    await book.place({
      orderId: "o2",
      clientOrderId: "c-2",
      userId: "u",
      side: "sell",
      type: "limit",
      price: "300",
      quantity: "1",
    });
    expect(await book.getOrder({ clientOrderId: "c-2", userId: "u" })).toMatchObject({
      known: true,
      orderId: "o2",
    });
    expect(await book.getOrder({ clientOrderId: "c-2", userId: "someone-else" })).toEqual({ known: false });
  });

  it("rejects off-grid prices, tiny quantities and small notionals with clear codes", async () => {
    const book = await configuredBook("RULES-USDT");
    const base = { userId: "u", side: "buy" as const, type: "limit" as const };
    expect(await book.place({ ...base, orderId: "a", price: "100.001", quantity: "1" })).toMatchObject({
      ok: false,
      code: "INVALID_TICK",
    });
    expect(await book.place({ ...base, orderId: "b", price: "100", quantity: "0.000001" })).toMatchObject({
      ok: false,
      code: "INVALID_LOT",
    });
    expect(await book.place({ ...base, orderId: "c", price: "1", quantity: "0.001" })).toMatchObject({
      ok: false,
      code: "NOTIONAL_TOO_SMALL",
    });
  });

  it("a halted market rejects new orders but keeps open orders cancellable; cancel-only accepts only cancels", async () => {
    const book = await configuredBook("HALT-USDT");
    const order = { userId: "u", side: "buy" as const, type: "limit" as const, price: "100", quantity: "1" };
    expect(await book.place({ ...order, orderId: "o1" })).toMatchObject({ ok: true });
    expect(await book.place({ ...order, orderId: "o0" })).toMatchObject({ ok: true });

    const rules = (await book.getRules())!;
    await book.configure({ ...rules, status: "halted" });
    expect(await book.place({ ...order, orderId: "o2" })).toMatchObject({ ok: false, code: "MARKET_HALTED" });
    expect(await book.amend("o1", { price: "101" })).toMatchObject({ ok: false, code: "MARKET_HALTED" });
    expect(await book.cancel("o0")).toEqual({ ok: true, cancelled: ["o0"] });

    await book.configure({ ...rules, status: "cancel-only" });
    expect(await book.place({ ...order, orderId: "o3" })).toMatchObject({
      ok: false,
      code: "MARKET_CANCEL_ONLY",
    });
    expect(await book.amend("o1", { price: "101" })).toMatchObject({ ok: false, code: "MARKET_CANCEL_ONLY" });
    expect(await book.cancel("o1")).toEqual({ ok: true, cancelled: ["o1"] });
    expect((await book.sequence()).orderCount).toBe(0);
  });

  it("cancel, amend and cancel-all act on the caller's orders only", async () => {
    const book = await configuredBook("CXL-USDT");
    const order = { side: "sell" as const, type: "limit" as const, price: "100", quantity: "1" };
    await book.placeBatch([
      { kind: "place", orderId: "a1", userId: "alice", ...order },
      { kind: "place", orderId: "a2", userId: "alice", ...order },
      { kind: "place", orderId: "b1", userId: "bob", ...order },
    ]);
    expect(await book.cancel("b1", "alice")).toMatchObject({ ok: false, code: "ORDER_NOT_FOUND" });
    expect(await book.amend("a1", { quantity: "0.5", userId: "alice" })).toMatchObject({ ok: true });
    expect(await book.cancelAll("alice")).toEqual({ ok: true, cancelled: ["a1", "a2"] });
    const before = (await book.readOutbox(0, 1000)).entries.length;
    expect(await book.cancel("a1")).toMatchObject({ ok: false, code: "ORDER_NOT_OPEN" });
    // A refused cancel is not a rejected order: settlement sees nothing new.
    expect((await book.readOutbox(0, 1000)).entries.length).toBe(before);
    expect(await book.depth()).toMatchObject({ asks: [["100.00", "1.00000"]] });
  });

  it("a batch answers every command in order and refuses oversized or malformed input without harm", async () => {
    const book = await configuredBook("BATCH-USDT");
    const results = await book.placeBatch([
      { kind: "place", orderId: "b1", userId: "u", side: "buy", type: "limit", price: "100", quantity: "1" },
      { kind: "bogus" } as never,
      {
        kind: "place",
        orderId: "b2",
        userId: "u",
        side: "up" as never,
        type: "limit",
        price: "100",
        quantity: "1",
      },
      { kind: "cancel", orderId: "b1" },
    ]);
    expect(results.map((r) => (r.ok ? "ok" : r.code))).toEqual(["ok", "BAD_REQUEST", "INVALID_SIDE", "ok"]);
    const tooMany = await book.placeBatch(
      Array.from({ length: 5_001 }, () => ({ kind: "cancel", orderId: "x" })),
    );
    expect(tooMany).toEqual([{ ok: false, code: "BAD_REQUEST", message: expect.any(String) }]);
    expect((await book.sequence()).orderCount).toBe(0);
  });

  it("writes fills and order events to the outbox, read by sequence and acknowledged", async () => {
    const book = await configuredBook("OUT-USDT");
    await book.placeBatch([
      {
        kind: "place",
        orderId: "m",
        userId: "maker",
        side: "sell",
        type: "limit",
        price: "100",
        quantity: "1",
      },
      { kind: "place", orderId: "t", userId: "taker", side: "buy", type: "market", quantity: "0.4" },
    ]);
    const { entries } = await book.readOutbox(0, 100);
    const trade = entries.find((e) => e.kind === "trade");
    expect(trade).toMatchObject({
      kind: "trade",
      price: "100.00",
      quantity: "0.40000",
      takerOrderId: "t",
      makerOrderId: "m",
      takerUserId: "taker",
      makerUserId: "maker",
      makerFeeBps: 10,
      takerFeeBps: 20,
    });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    const upto = entries[1]!.seq;
    expect(await book.ackOutbox(upto)).toEqual({ acknowledged: 2 });
    const rest = await book.readOutbox(0, 100);
    expect(rest.entries[0]!.seq).toBe(upto + 1);
    expect(rest.backlog).toBe(entries.length - 2);
  });
});
