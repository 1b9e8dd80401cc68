import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { orders } from "../../../src/db/schema";
import { checkBooks, reconcile } from "../../../src/services/reconciliation";
import { bookReader } from "../../../src/services/trading/book-report";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { api, login } from "../auth/helpers";
import { heldMarket } from "./settlement-helpers";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

describe("reconciliation reads the order books", () => {
  it("the object reports its live orders and the orders its unsettled entries name", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      const rest = await order(buyer, { side: "buy", type: "limit", price: "40000.00", quantity: "0.01" });
      const stop = await order(seller, {
        side: "sell",
        type: "stop_loss",
        stop_price: "30000.00",
        quantity: "0.01",
      });
      const report = await bookReader(env)(market);
      expect([...report.liveOrderIds].sort()).toEqual([rest.order.id, stop.order.id].sort());
      expect([...report.unsettledOrderIds].sort()).toEqual([rest.order.id, stop.order.id].sort());
      await settleMarket(db, book, rules);
      expect((await bookReader(env)(market)).unsettledOrderIds).toEqual([]);
    });
  });

  it("reports an order Postgres closed behind the book's back, and one the book never had", async () => {
    await withDatabase(env, async (db) => {
      const { market, buyer, order, rules, book } = await heldMarket(db);
      const resting = await order(buyer, { side: "buy", type: "limit", price: "40000.00", quantity: "0.01" });
      await settleMarket(db, book, rules);
      // This market's book alone: the full report caps each kind at 100 rows over all markets,
      // and other tests leave plenty.
      const mine = async () => {
        const readAt = new Date();
        const view = { market, readAt, ...(await bookReader(env)(market)) };
        return db.transaction((tx) => checkBooks(tx, [view]));
      };
      expect(await mine()).toEqual([]);

      const anHourAgo = new Date(Date.now() - 3_600_000);
      // Closed in Postgres (released, say by a bad script) while the book still holds it...
      await db
        .update(orders)
        .set({ status: "cancelled", closedAt: anHourAgo })
        .where(eq(orders.id, resting.order.id));
      // ...and open in Postgres for an hour while the book never had it (no outbox entry either:
      // nothing another test's settlement run could settle meanwhile).
      const lost = { order: { id: crypto.randomUUID() } }; // never placed
      await db.insert(orders).values({
        id: lost.order.id,
        userId: buyer,
        market,
        side: "buy",
        type: "limit",
        timeInForce: "GTC",
        price: 39_000_000_000n,
        quantity: 1_000_000n,
        lockAsset: "USDT",
        lockedAmount: 390_000_000n,
        status: "new",
        createdAt: anHourAgo,
      });

      expect(await mine()).toEqual(
        expect.arrayContaining([
          {
            kind: "book_order_not_open",
            market,
            orderId: resting.order.id,
            status: "cancelled",
            pgMarket: market,
          },
          { kind: "order_not_in_book", market, orderId: lost.order.id, status: "new" },
        ]),
      );

      // The cron job and the admin endpoint read the books too.
      const res = await api("GET", "/api/v1/admin/reconciliation", { token: adminToken });
      const body = (await res.json()) as { ok: boolean; checks: string[] };
      expect(body).toMatchObject({ ok: false, checks: ["ledger", "locks", "fees", "books"] });
      const job = await reconcile(db, { readBook: bookReader(env) });
      expect(job.checks).toContain("books");
    });
  });
});
