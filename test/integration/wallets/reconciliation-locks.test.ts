import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OutboxEntry } from "../../../src/domain/market/commands";
import { withDatabase } from "../../../src/db/client";
import { orders, trades, withdrawals } from "../../../src/db/schema";
import {
  checkBooks,
  orderIdsInOutbox,
  reconcile,
  reconcileWithin,
  type BookView,
} from "../../../src/services/reconciliation";
import { buildWorld, rolledBack, worldUsers } from "./reconciliation-world";

describe("reconciliation of locks and fees", () => {
  it("reports nothing for a consistent world of orders, OCO pairs, a trade and withdrawals", async () => {
    const users = await worldUsers();
    const { report, world } = await rolledBack(async (tx) => {
      const world = await buildWorld(tx, users);
      return { world, report: await reconcileWithin(tx) };
    });
    expect(report.checks).toEqual(["ledger", "locks", "fees"]);
    expect(world.mine(report.mismatches)).toEqual([]);
    const totals = report.assets.find((a) => a.asset === world.base)!;
    expect(totals.sum).toBe(0n);
    expect(totals.accounts.fee_income).toBe(2n); // the buyer's trade fee and one withdrawal fee
  });

  it("reports each tampered lock and fee under its own kind", async () => {
    const users = await worldUsers();
    const { report, world } = await rolledBack(async (tx) => {
      const world = await buildWorld(tx, users);
      // Behind the ledger's back, as a bug or a manual UPDATE would.
      await tx.update(orders).set({ consumedAmount: 200n }).where(eq(orders.id, world.aliceBuy));
      await tx.update(orders).set({ lockedAmount: 12n }).where(eq(orders.id, world.bobSell));
      await tx.update(orders).set({ releasedAmount: 29n }).where(eq(orders.id, world.closedOco.stop));
      await tx
        .update(withdrawals)
        .set({ status: "cancelled" })
        .where(eq(withdrawals.id, world.pendingWithdrawal));
      await tx.update(trades).set({ sellerFee: 4n }).where(eq(trades.market, world.market));
      return { world, report: await reconcileWithin(tx) };
    });
    expect(report.ok).toBe(false);
    const closed = { userId: world.bob, market: world.market, asset: world.base, consumed: 0n };
    expect(world.mine(report.mismatches)).toEqual(
      expect.arrayContaining([
        // Alice's open buy now claims 800 quote; her balance holds 700.
        {
          kind: "locked_mismatch",
          userId: world.alice,
          asset: world.quote,
          locked: 700n,
          orders: 800n,
          withdrawals: 0n,
        },
        // The cancelled withdrawal's 5 base were never released.
        {
          kind: "locked_mismatch",
          userId: world.alice,
          asset: world.base,
          locked: 5n,
          orders: 0n,
          withdrawals: 0n,
        },
        {
          kind: "closed_order_lock",
          orderId: world.bobSell,
          status: "filled",
          ocoGroupId: null,
          ...closed,
          locked: 12n,
          consumed: 10n,
          released: 0n,
        },
        {
          kind: "closed_order_lock",
          orderId: world.closedOco.stop,
          status: "cancelled",
          ocoGroupId: world.closedOco.limit,
          ...closed,
          locked: 30n,
          released: 29n,
        },
        { kind: "fee_income_mismatch", asset: world.quote, postings: 3n, trades: 4n, withdrawals: 0n },
      ]),
    );
    expect(world.mine(report.mismatches)).toHaveLength(5);
  });

  it("caps each kind at 100 rows", async () => {
    const users = await worldUsers();
    const report = await rolledBack(async (tx) => {
      const world = await buildWorld(tx, users);
      await tx.execute(sql`
        insert into orders (id, user_id, market, side, type, time_in_force, lock_asset, locked_amount, status)
        select gen_random_uuid(), ${world.bob}, ${world.market}, 'sell', 'limit', 'GTC', ${world.base}, 1, 'cancelled'
        from generate_series(1, 101)`);
      return reconcileWithin(tx);
    });
    expect(report.mismatches.filter((m) => m.kind === "closed_order_lock")).toHaveLength(100);
  });
});

describe("the book check", () => {
  it("compares the book's live orders with the orders open in Postgres, skipping unsettled and racing ones", async () => {
    const users = await worldUsers();
    const ghost = crypto.randomUUID();
    const results = await rolledBack(async (tx) => {
      const world = await buildWorld(tx, users);
      const { market } = world;
      // Placed a moment ago (maybe still on its way to the book), closed a moment ago (the
      // book may have been read before it closed): neither is a mismatch yet.
      const young = crypto.randomUUID();
      const justClosed = crypto.randomUUID();
      const row = { userId: world.bob, market, side: "sell" as const, type: "limit" as const };
      await tx.insert(orders).values([
        { ...row, id: young, timeInForce: "GTC", lockAsset: world.base, lockedAmount: 0n, status: "new" },
        {
          ...row,
          id: justClosed,
          timeInForce: "GTC",
          lockAsset: world.base,
          lockedAmount: 0n,
          status: "cancelled",
          createdAt: new Date(Date.now() - 600_000),
          closedAt: new Date(),
        },
      ]);
      const view = (live: string[], unsettled: Iterable<string> = []): BookView => ({
        market,
        liveOrderIds: live,
        unsettledOrderIds: unsettled,
        readAt: new Date(),
      });
      const drifted = [world.liveOco.stop, world.bobSell, justClosed, ghost, "not-an-order-id"];
      // The book's outbox still names Alice's buy and Bob's sell: settlement has not caught up.
      const outbox: OutboxEntry[] = [
        {
          seq: 2,
          kind: "trade",
          ts: Date.now(),
          tradeId: `${market}:2`,
          market,
          price: "30",
          quantity: "1",
          takerSide: "sell",
          takerOrderId: world.bobSell,
          takerUserId: world.bob,
          makerOrderId: world.aliceBuy,
          makerUserId: world.alice,
          makerFeeBps: 10,
          takerFeeBps: 10,
        },
      ];
      return {
        world,
        clean: await checkBooks(tx, [view([world.aliceBuy, world.liveOco.stop])]),
        drifted: await checkBooks(tx, [view(drifted)]),
        unsettled: await checkBooks(tx, [view(drifted, orderIdsInOutbox(outbox))]),
      };
    });
    const { world } = results;
    const notOpen = (orderId: string, status: string | null, pgMarket: string | null) => ({
      kind: "book_order_not_open",
      market: world.market,
      orderId,
      status,
      pgMarket,
    });
    expect(results.clean).toEqual([]);
    expect(results.drifted).toEqual([
      {
        kind: "order_not_in_book",
        market: world.market,
        orderId: world.aliceBuy,
        status: "partially_filled",
      },
      notOpen("not-an-order-id", null, null),
      ...[notOpen(world.bobSell, "filled", world.market), notOpen(ghost, null, null)].sort((a, b) =>
        a.orderId < b.orderId ? -1 : 1,
      ),
    ]);
    expect(results.unsettled).toEqual([notOpen("not-an-order-id", null, null), notOpen(ghost, null, null)]);
  });

  it("reconcile reads every market's book before its snapshot and reports a book it cannot read", async () => {
    const ghost = crypto.randomUUID();
    const asked: string[] = [];
    const report = await withDatabase(env, (db) =>
      reconcile(db, {
        readBook: (market) => {
          asked.push(market);
          if (market === "ETH-USDT") return Promise.reject(new Error("book offline"));
          return Promise.resolve({
            liveOrderIds: market === "BTC-USDT" ? [ghost] : [],
            unsettledOrderIds: [],
          });
        },
      }),
    );
    expect(asked).toEqual(expect.arrayContaining(["BTC-USDT", "ETH-USDT"]));
    expect(report.checks).toEqual(["ledger", "locks", "fees", "books"]);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toContainEqual({
      kind: "book_order_not_open",
      market: "BTC-USDT",
      orderId: ghost,
      status: null,
      pgMarket: null,
    });
    expect(report.mismatches).toContainEqual({
      kind: "book_unreadable",
      market: "ETH-USDT",
      error: "book offline",
    });
  });
});
