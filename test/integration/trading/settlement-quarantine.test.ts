import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { auditLogs, orders, settlementCursors, settlementQuarantine } from "../../../src/db/schema";
import { lockFunds } from "../../../src/domain/ledger/ledger";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { api, expectError, login } from "../auth/helpers";
import { balanceOf, trader } from "./helpers";
import { ghostTrade, heldMarket, injectOutbox, matchPair } from "./settlement-helpers";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

interface Quarantined {
  id: string;
  market: string;
  seq: number;
  reason: string;
  status: string;
  entry: Record<string, unknown>;
}

async function quarantineOf(market: string): Promise<Quarantined[]> {
  const res = await api("GET", `/api/v1/admin/settlement/quarantine?market=${market}&page_size=100`, {
    token: adminToken,
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { entries: Quarantined[]; total: number; page: number };
  expect(body.total).toBe(body.entries.length);
  return body.entries;
}

const retry = (id: string, token = adminToken) =>
  api("POST", `/api/v1/admin/settlement/quarantine/${id}/retry`, { token });

describe("an outbox entry that breaks an invariant", () => {
  it("is quarantined, and the market settles on around it, each other entry exactly once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await matchPair(order, seller, buyer);
      // A bug's entry: a trade naming an order Postgres never heard of, between good fills.
      const ghost = ghostTrade(market, seller, buyer, 9999);
      const [badSeq] = await injectOutbox(market, [ghost]);
      await matchPair(order, seller, buyer);

      // (Another test's cron run may settle this market first: assert the outcome, not who did it.)
      await settleMarket(db, book, rules);
      // Both good fills settled: 0.02 BTC at 50,000 less the buyer's 0.2 % and the seller's 0.1 %.
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 1_996_000n, locked: 0n });
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 999_000_000n, locked: 0n });
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 9_000_000_000n, locked: 0n });
      expect((await book.readOutbox(0)).entries).toEqual([]);
      const [cursor] = await db.select().from(settlementCursors).where(eq(settlementCursors.market, market));
      expect(cursor!.lastSeq).toBe((await book.readOutbox(0)).lastSeq);

      const held = await quarantineOf(market);
      expect(held).toHaveLength(1);
      expect(held[0]).toMatchObject({
        seq: badSeq,
        status: "open",
        entry: { takerOrderId: ghost.takerOrderId },
      });
      expect(held[0]!.reason).toMatch(/not in the database/);

      // Settling again moves nothing and quarantines nothing twice.
      const again = await settleMarket(db, book, rules);
      expect(again).toMatchObject({ trades: 0, quarantined: 0 });
      expect(await quarantineOf(market)).toHaveLength(1);

      // Still invalid: a retry is refused with the reason, and changes nothing.
      const refused = await expectError(await retry(held[0]!.id), 409, "CONFLICT");
      expect(refused.error.message).toMatch(/not in the database/);
      expect((await quarantineOf(market))[0]!.status).toBe("open");
    });
  });

  it("settles on an admin's retry once it has become valid, once, audited", async () => {
    await withDatabase(env, async (db) => {
      const { market, buyer, rules, book } = await heldMarket(db);
      // A cancel of an order Postgres lost: quarantined.
      const lost = crypto.randomUUID();
      await injectOutbox(market, [
        {
          kind: "order",
          ts: Date.now(),
          event: "done",
          status: "cancelled",
          orderId: lost,
          userId: buyer,
          market,
        },
      ]);
      await settleMarket(db, book, rules);
      const [held] = await quarantineOf(market);
      expect(held).toMatchObject({ status: "open", entry: { orderId: lost } });

      // The order is restored (say, from a backup) with its lock: the cancel can now release it.
      await db.insert(orders).values({
        id: lost,
        userId: buyer,
        market,
        side: "buy",
        type: "limit",
        timeInForce: "GTC",
        price: 40_000_000_000n,
        quantity: 1_000_000n,
        lockAsset: "USDT",
        lockedAmount: 400_000_000n,
        status: "new",
      });
      await lockFunds(db, {
        userId: buyer,
        asset: "USDT",
        amount: 400_000_000n,
        type: "order.lock",
        reference: lost,
      });
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 9_600_000_000n, locked: 400_000_000n });

      const res = await retry(held!.id);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { entry: Quarantined }).entry).toMatchObject({ status: "settled" });
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 10_000_000_000n, locked: 0n });
      const [row] = await db.select().from(orders).where(eq(orders.id, lost));
      expect(row).toMatchObject({ status: "cancelled", releasedAmount: 400_000_000n });
      const audit = await db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "settlement.quarantine.retry"), eq(auditLogs.resourceId, held!.id)));
      expect(audit).toHaveLength(1);

      // A second retry finds it settled: nothing moves twice.
      await expectError(await retry(held!.id), 409, "CONFLICT");
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 10_000_000_000n, locked: 0n });
      const [{ n }] = (
        await db.execute<{ n: number }>(
          sql`select count(*)::int as n from ${settlementQuarantine} where market = ${market}`,
        )
      ).rows as [{ n: number }];
      expect(n).toBe(1);
    });
  });

  it("that only Postgres catches (a balance would go negative): its batch is settled entry by entry", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await order(seller, { side: "sell", type: "limit", price: "50000.00", quantity: "0.01" });
      // Behind the ledger's back the seller's locked BTC is gone (before the fill exists, so
      // whoever settles the fill meets it): its fill cannot take it.
      await db.execute(sql`update balances set locked = locked - 1000000
        where user_id = ${seller} and asset = 'BTC'`);
      try {
        await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.01" });
        await settleMarket(db, book, rules);
        // The fill and the seller's close (it would release what is not there) are set aside;
        // the buyer's own entries settle: its order closes and its whole lock comes back.
        const held = await quarantineOf(market);
        expect(held.map((q) => q.entry.kind).sort()).toEqual(["order", "trade"]);
        // (The ledger names the first decreasing balance of the entry: BTC or USDT.)
        expect(held.every((q) => /Insufficient (BTC|USDT) balance/.test(q.reason))).toBe(true);
        expect(await balanceOf(buyer, "USDT")).toEqual({ available: 10_000_000_000n, locked: 0n });
        expect((await book.readOutbox(0)).entries).toEqual([]);
      } finally {
        await db.execute(sql`update balances set locked = locked + 1000000
          where user_id = ${seller} and asset = 'BTC'`);
      }
    });
  });

  it("is for admins only", async () => {
    const user = await trader();
    await expectError(await api("GET", "/api/v1/admin/settlement/quarantine", { token: user.token }), 403);
    await expectError(await retry("1", user.token), 403);
    await expectError(await api("GET", "/api/v1/admin/settlement/quarantine"), 401);
  });
});
