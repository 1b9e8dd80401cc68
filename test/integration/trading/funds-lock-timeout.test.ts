import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { bookReader } from "../../../src/services/trading/book-report";
import { balanceOf, createMarket, holdingBalanceRow, placeOrder, settle, trader, USDT } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a flush's funds lock that waits on a busy balance row", () => {
  it("gives up in Postgres before the object abandons it: nothing stays locked that no book holds", async () => {
    const market = await createMarket();
    const buyer = await trader({ USDT: "1000" });
    // Another connection holds the buyer's balance row (a long transfer, an operator's script)
    // until the object has answered the placement.
    const res = await holdingBalanceRow(buyer.id, "USDT", async () => {
      const answer = await placeOrder(buyer, {
        market,
        side: "buy",
        type: "limit",
        price: "50000.00",
        quantity: "0.01",
      });
      // The object answered NOT_BOOKED and settles its rejection (here on another connection,
      // as the cron does) while the row is still held: an order Postgres does not have yet
      // settles as nothing.
      await settle(market);
      return answer;
    });
    expect(res.status).toBe(503);
    // The row is free again: a funds lock still waiting in Postgres would commit now.
    await sleep(1_500);
    await settle(market);

    const open = await withDatabase(env, (db) =>
      db
        .select({ id: orders.id, status: orders.status })
        .from(orders)
        .where(and(eq(orders.userId, buyer.id), inArray(orders.status, ["new", "partially_filled"]))),
    );
    const report = await bookReader(env)(market);
    expect(open.map((o) => o.id)).toEqual([...report.liveOrderIds]);
    expect(open).toEqual([]);
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("1000"), locked: 0n });
    // The next placement locks at once.
    const next = await placeOrder(buyer, {
      market,
      side: "buy",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
    });
    expect(next.status).toBe(201);
  });
});
