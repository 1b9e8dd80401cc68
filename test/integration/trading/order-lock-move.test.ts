import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { moveOrderLock, type OrderLockMove } from "../../../src/domain/market/order-lock-move";
import { balanceOf, createMarket, placed, reservedByOpenOrders, trader } from "./helpers";

describe("moveOrderLock", () => {
  it("moves the order's counter only with a new ledger entry: a repeated move changes nothing", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "1000" });
    const { order } = await placed(t, {
      market,
      side: "buy",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
    });
    const move: OrderLockMove = {
      kind: "lock",
      amount: 1_000_000n,
      type: "order.amend_lock",
      reference: `${order.id}:once`,
    };
    const lockedAmount = () =>
      withDatabase(
        env,
        async (db) => (await db.select().from(orders).where(eq(orders.id, order.id!)))[0]!.lockedAmount,
      );
    const before = await lockedAmount();
    for (let i = 0; i < 2; i++) {
      await withDatabase(env, (db) =>
        db.transaction(async (tx) => {
          const [row] = await tx.select().from(orders).where(eq(orders.id, order.id!)).for("update");
          await moveOrderLock(tx, row!, move, {});
        }),
      );
    }
    expect(await lockedAmount()).toBe(before + 1_000_000n);
    expect((await balanceOf(t.id, "USDT")).locked).toBe(await reservedByOpenOrders(t.id, "USDT"));
  });
});
