import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase, type Database } from "../../../src/db/client";
import { orders, settlementCursors, trades } from "../../../src/db/schema";
import { lockFunds } from "../../../src/domain/ledger/ledger";
import { configureOrderBook, loadMarketRules } from "../../../src/services/trading/market-directory";
import { reconcileTrading } from "../../../src/services/trading/reconcile-orders";
import { applySettlementBatch, settleMarket } from "../../../src/domain/settlement/settle-market";
import type { OutboxEntry } from "../../../src/domain/settlement/plan";
import { createTestUser, fund } from "../wallets/fixtures";
import { balanceOf, createMarket } from "./helpers";
import { heldMarket } from "./settlement-helpers";
import { toBookRules } from "../../../src/domain/market/market-rules";

/**
 * A seller and a buyer whose orders matched in the book; with `hold` (the default) nothing is
 * settled yet (the "crash": the object settles its own fills at once, so it is told not to).
 */
async function matchedButUnsettled(db: Database, hold = true) {
  const { market, seller, buyer, order, book } = await heldMarket(db, hold);
  await order(seller, { side: "sell", type: "limit", price: "50000.00", quantity: "0.02" });
  const taken = await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.03" });
  expect(taken.fills).toHaveLength(1);
  const rules = await loadMarketRules(db, market, true);
  return { market, seller, buyer, rules, book };
}

async function snapshot(db: Database, market: string, users: string[]) {
  const rows = await db.select().from(orders).where(eq(orders.market, market));
  const tradeRows = await db.select().from(trades).where(eq(trades.market, market));
  const money = [];
  for (const u of users) money.push(await balanceOf(u, "BTC"), await balanceOf(u, "USDT"));
  return {
    orders: rows.map((o) => [o.id, o.status, o.filledQuantity, o.consumedAmount, o.releasedAmount]).sort(),
    trades: tradeRows.length,
    money,
  };
}

/** Matched, then settled by a run that "crashes" after its commit: nothing acknowledged. */
async function settledButUnacknowledged(db: Database) {
  const matched = await matchedButUnsettled(db);
  const { market, seller, buyer, rules, book } = matched;
  await expect(
    settleMarket(db, book, rules, {
      afterCommit: () => {
        throw new Error("crash before ack");
      },
    }),
  ).rejects.toThrow("crash before ack");
  const settled = await snapshot(db, market, [seller, buyer]);
  expect(settled.trades).toBe(1);
  expect((await book.readOutbox(0)).entries.length).toBeGreaterThan(0); // not acknowledged
  return { ...matched, settled };
}

describe("settlement, exactly once", () => {
  it("the order book settles its own fills: no cron, no request, and its outbox empties", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, book } = await matchedButUnsettled(db, false);
      const deadline = Date.now() + 10_000;
      while ((await balanceOf(seller, "USDT")).available === 0n && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 8_500_000_000n, locked: 500_000_000n });
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 1_996_000n, locked: 0n });
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 999_000_000n, locked: 0n });
      while ((await book.readOutbox(0)).entries.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await book.readOutbox(0)).entries).toEqual([]);
      const [row] = await db.select().from(trades).where(eq(trades.market, market));
      expect(row?.buyerId).toBe(buyer);
    });
  });

  it("a crash after matching and before settlement: the outbox keeps the fill and the cron settles it once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, book } = await matchedButUnsettled(db);
      // Matched in the book, not in Postgres: the buyer's 1,500 USDT are locked, nothing moved.
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 8_500_000_000n, locked: 1_500_000_000n });
      expect((await book.readOutbox(0)).entries.some((e) => e.kind === "trade")).toBe(true);

      await reconcileTrading(env, db);
      // 0.02 BTC at 50,000 = 1,000 USDT; the buyer's 0.01 remainder rests (500 USDT locked).
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 8_500_000_000n, locked: 500_000_000n });
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 1_996_000n, locked: 0n }); // − 0.2 % taker fee
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 999_000_000n, locked: 0n }); // − 0.1 % maker fee
      expect(await balanceOf(seller, "BTC")).toEqual({ available: 8_000_000n, locked: 0n });
      expect((await book.readOutbox(0)).entries).toEqual([]); // acknowledged

      const before = await snapshot(db, market, [seller, buyer]);
      await reconcileTrading(env, db);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(before);
    });
  });

  it("a crash after settlement and before acknowledgement: the next run settles nothing twice", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book, settled } = await settledButUnacknowledged(db);

      await settleMarket(db, book, rules);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(settled);
      expect((await book.readOutbox(0)).entries).toEqual([]);
    });
  });

  it("a page whose trade is settled already (the cursor lost) goes to the planner and moves nothing twice", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book, settled } = await settledButUnacknowledged(db);
      // settle_page sees the whole page again, its trade in Postgres already.
      await db.update(settlementCursors).set({ lastSeq: 0 }).where(eq(settlementCursors.market, market));
      await settleMarket(db, book, rules);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(settled);
      expect((await book.readOutbox(0)).entries).toEqual([]);
    });
  });

  it("a batch naming one trade twice moves money once and quarantines the repeat", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book } = await matchedButUnsettled(db);
      const entries = (await book.readOutbox(0)).entries as OutboxEntry[];
      const trade = entries.find((e) => e.kind === "trade")!;
      const last = Math.max(...entries.map((e) => e.seq));
      const applied = await applySettlementBatch(db, rules, [...entries, { ...trade, seq: last + 1 }]);
      expect(applied.trades).toBe(1);
      expect(applied.quarantined.map((q) => q.entry.seq)).toEqual([last + 1]);
      const settled = await snapshot(db, market, [seller, buyer]);
      expect(settled.trades).toBe(1);
      // Applied again (the cursor passed both): nothing moves.
      expect((await applySettlementBatch(db, rules, entries)).trades).toBe(0);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(settled);
    });
  });

  it("a batch applied twice changes nothing, even with the cursor lost", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book } = await matchedButUnsettled(db);
      const { entries } = await book.readOutbox(0);
      const first = await applySettlementBatch(db, rules, entries as OutboxEntry[]);
      expect(first.trades).toBe(1);
      const settled = await snapshot(db, market, [seller, buyer]);

      expect((await applySettlementBatch(db, rules, entries as OutboxEntry[])).trades).toBe(0);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(settled);

      await db.update(settlementCursors).set({ lastSeq: 0 }).where(eq(settlementCursors.market, market));
      expect((await applySettlementBatch(db, rules, entries as OutboxEntry[])).trades).toBe(0);
      expect(await snapshot(db, market, [seller, buyer])).toEqual(settled);
    });
  });
});

describe("recovery of placements whose outcome was never learned", () => {
  /** The state a crash between the lock and the book call leaves: a pending order with its lock. */
  async function pendingOrder(db: Database, market: string, userId: string, ageMs: number) {
    const id = crypto.randomUUID();
    await db.insert(orders).values({
      id,
      userId,
      market,
      side: "sell",
      type: "limit",
      timeInForce: "GTC",
      price: 70_000_000_000n,
      quantity: 1_000_000n,
      lockAsset: "BTC",
      lockedAmount: 1_000_000n,
      createdAt: new Date(Date.now() - ageMs),
    });
    await lockFunds(db, { userId, asset: "BTC", amount: 1_000_000n, type: "order.lock", reference: id });
    return id;
  }

  // Rows a deploy of the first order path may leave behind (the Worker locked, then called the
  // book). The object now records and funds every order itself, so none is ever `pending` again.
  it("a first-path order unknown to the book after the grace period: rejected and the lock released", async () => {
    await withDatabase(env, async (db) => {
      const market = await createMarket();
      const user = await createTestUser();
      await fund(db, user, "BTC", 3_000_000n);
      await configureOrderBook(env, toBookRules(await loadMarketRules(db, market, true)));
      const lost = await pendingOrder(db, market, user, 60_000);
      const young = await pendingOrder(db, market, user, 0);

      await reconcileTrading(env, db);
      const status = async (id: string) =>
        (await db.select({ s: orders.status }).from(orders).where(eq(orders.id, id)))[0]!.s;
      expect(await status(lost)).toBe("rejected");
      expect(await status(young)).toBe("pending"); // may still be in flight
      expect(await balanceOf(user, "BTC")).toEqual({ available: 2_000_000n, locked: 1_000_000n });
      const [{ n }] = (
        await db.execute<{ n: number }>(
          sql`select count(*)::int as n from ledger_entries where type = 'order.release' and reference = ${lost}`,
        )
      ).rows as [{ n: number }];
      expect(n).toBe(1);
    });
  });
});
