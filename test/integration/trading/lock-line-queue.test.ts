import { env } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { bookReader } from "../../../src/services/trading/book-report";
import { balanceOf, createMarket, holdingBalanceRow, placeOrder, settle, trader, USDT } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const buy = (market: string) => ({ market, side: "buy", type: "limit", price: "50000.00", quantity: "0.01" });

describe("a lock queued on the lock line behind one that fails on its lock_timeout", () => {
  it("is still locked and its order placed: the failure and the fence's raise spare it", async () => {
    const market = await createMarket();
    const [stuck, innocent] = await Promise.all([trader({ USDT: "1000" }), trader({ USDT: "1000" })]);
    await placeOrder(innocent, { ...buy(market), price: "10000.00" }); // the object and its line are up

    const start = Date.now();
    let innocentAnsweredAt = 0;
    const [first, second] = await holdingBalanceRow(stuck.id, "USDT", () =>
      Promise.all([
        // Waits on the held row inside place_orders until its 3 s lock_timeout fails it.
        placeOrder(stuck, buy(market)),
        // A group of its own, taken while the first lock is out: queued behind it on the one
        // connection, written the moment Postgres answered the first with its error.
        sleep(500)
          .then(() => placeOrder(innocent, buy(market)))
          .finally(() => (innocentAnsweredAt = Date.now())),
      ]),
    ); // the row is held until both are answered: the first lock cannot pass
    expect(first.status).toBe(503);
    // It was queued behind the failing lock: answered only after that one's 3 s lock_timeout.
    expect(innocentAnsweredAt - start).toBeGreaterThanOrEqual(2_900);
    const body = (await second.json()) as { order: { id: string; status: string } };
    expect(second.status, JSON.stringify(body)).toBe(201);
    expect(body.order.status).toBe("new");

    // The failed lock lowered the fence; its raise (and any settlement) must not abandon the
    // innocent order: it stays booked, in Postgres and with its funds locked.
    await placeOrder(innocent, { ...buy(market), price: "10000.00" }); // a lock after the raise
    await settle(market);
    const open = await withDatabase(env, (db) =>
      db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.market, market), inArray(orders.status, ["new", "partially_filled"]))),
    );
    const report = await bookReader(env)(market);
    expect(open.map((o) => o.id).sort()).toEqual([...report.liveOrderIds].sort());
    expect(open.map((o) => o.id)).toContain(body.order.id);
    // 2 × 0.01 × 10,000 + 0.01 × 50,000, with the taker fee's reserve.
    const innocentUsdt = await balanceOf(innocent.id, "USDT");
    expect(innocentUsdt.locked).toBeGreaterThanOrEqual(USDT("700"));
    expect(innocentUsdt.available + innocentUsdt.locked).toBe(USDT("1000"));
    expect(await balanceOf(stuck.id, "USDT")).toEqual({ available: USDT("1000"), locked: 0n });
  });
});
