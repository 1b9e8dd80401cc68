import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OrderBook } from "../../../durable-objects/order-book";
import { configuredBook } from "./helpers";

type Book = Awaited<ReturnType<typeof configuredBook>>;

/** How many orders' ids the object holds in OrderIds' Map (free-text ids such as these tests'). */
async function cachedIds(book: Book): Promise<number> {
  return runInDurableObject(
    book,
    (instance: OrderBook) =>
      (instance as unknown as { market: { ids: { refs: Map<number, unknown> } } }).market.ids.refs.size,
  );
}

describe("OrderBook object: ids of orders that are done", () => {
  it("refused cancels and amendments of a done order leave nothing cached (bots retry those all day)", async () => {
    const book = await configuredBook("DONEIDS-USDT");
    const order = { side: "sell" as const, type: "limit" as const, price: "100", quantity: "1" };
    await book.placeBatch([
      { kind: "place", orderId: "done-1", userId: "alice", ...order },
      { kind: "place", orderId: "live-1", userId: "alice", ...order },
    ]);
    expect(await book.cancel("done-1")).toEqual({ ok: true, cancelled: ["done-1"] });
    const before = await cachedIds(book);
    expect(before).toBe(1); // live-1
    for (let i = 0; i < 20; i++) {
      expect(await book.cancel("done-1")).toMatchObject({ ok: false, code: "ORDER_NOT_OPEN" });
      expect(await book.amend("done-1", { quantity: "0.5" })).toMatchObject({ ok: false });
    }
    expect(await cachedIds(book)).toBe(before);
    // The live order still answers with its ids.
    expect(await book.cancel("live-1")).toEqual({ ok: true, cancelled: ["live-1"] });
    expect(await cachedIds(book)).toBe(0);
  });
});
