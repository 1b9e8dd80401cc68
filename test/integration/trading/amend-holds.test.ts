import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase, type Database } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { lockFunds } from "../../../src/domain/ledger/ledger";
import { amendOrder } from "../../../src/services/trading/amend-order";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { balanceOf, reservedByOpenOrders } from "./helpers";
import { heldMarket, principal } from "./settlement-helpers";

/** What step 1 of an amendment leaves when its request then stalls: its lock and a hold that lapsed. */
async function stalledAmendment(
  db: Database,
  orderId: string,
  userId: string,
  extra: bigint,
): Promise<string> {
  const amendId = crypto.randomUUID();
  const [row] = await db.select().from(orders).where(eq(orders.id, orderId));
  if (extra > 0n) {
    await lockFunds(db, {
      userId,
      asset: "USDT",
      amount: extra,
      type: "order.amend_lock",
      reference: `${orderId}:${amendId}`,
    });
  }
  await db
    .update(orders)
    .set({ lockedAmount: row!.lockedAmount + extra, amendId, amendExpiresAt: new Date(Date.now() - 1_000) })
    .where(eq(orders.id, orderId));
  return amendId;
}

const lockedUsdt = async (userId: string) => (await balanceOf(userId, "USDT")).locked;

describe("amendment holds", () => {
  it("two overlapping amendments never leave the order holding less than it needs", async () => {
    await withDatabase(env, async (db) => {
      const { seller, buyer, order, rules, book } = await heldMarket(db);
      const bid = await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.01" });
      const id = bid.order.id;
      expect(await lockedUsdt(buyer)).toBe(500_000_000n);

      // A wants 0.03: it locks 1,000 more and holds the order, then its call to the book stalls
      // until its hold has lapsed.
      const a = await stalledAmendment(db, id, buyer, 1_000_000_000n);
      // B takes the lapsed hold over and lowers the price: the order then needs 400.
      const b = await amendOrder(db, env, principal(buyer), id, { price: "40000.00" }, SYSTEM_METADATA);
      expect(b.order).toMatchObject({ price: "40000.000000", quantity: "0.01000000" });
      expect(await lockedUsdt(buyer)).toBe(400_000_000n);
      expect(await reservedByOpenOrders(buyer, "USDT")).toBe(400_000_000n);

      // A's call finally reaches the book: refused, its hold lapsed (B released what A locked).
      const late = await book.amend(id, {
        userId: buyer,
        amendId: a,
        quantity: "0.03000",
        expiresAt: Date.now() - 1_000,
      });
      expect(late).toMatchObject({ ok: false, code: "AMEND_EXPIRED" });
      expect((await book.getOrder({ orderId: id })).live).toMatchObject({
        quantity: "0.01000",
        price: "40000.00",
      });

      // The order fills at its price and settles with no quarantine, locking nothing after.
      await order(seller, { side: "sell", type: "limit", price: "40000.00", quantity: "0.01" });
      const settled = await settleMarket(db, book, rules);
      expect(settled.quarantined).toBe(0);
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 9_600_000_000n, locked: 0n });
      expect((await balanceOf(buyer, "BTC")).available).toBe(999_000n); // 0.01 less the 0.1 % maker fee
      const [row] = await db.select().from(orders).where(eq(orders.id, id));
      expect(row).toMatchObject({ status: "filled", amendId: null });
      expect(row!.lockedAmount).toBe(row!.consumedAmount + row!.releasedAmount);
    });
  });

  it("a lapsed hold is ignored: another amendment's entry releases what the order no longer needs", async () => {
    await withDatabase(env, async (db) => {
      const { buyer, order, rules, book } = await heldMarket(db);
      const bid = await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.02" });
      const id = bid.order.id;
      await stalledAmendment(db, id, buyer, 0n);
      // An amendment that names no hold (e.g. from a socket) halves the order.
      expect(await book.amend(id, { userId: buyer, quantity: "0.01000" })).toMatchObject({ ok: true });
      await settleMarket(db, book, rules);
      expect(await lockedUsdt(buyer)).toBe(500_000_000n);
      expect(await reservedByOpenOrders(buyer, "USDT")).toBe(500_000_000n);
      const [row] = await db.select().from(orders).where(eq(orders.id, id));
      expect(row).toMatchObject({ quantity: 1_000_000n, amendId: null });
    });
  });
});
