import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { settlementCursors } from "../../../src/db/schema";
import { toBookRules } from "../../../src/domain/market/market-rules";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { SettlementEpochError } from "../../../src/domain/settlement/settlement-errors";
import type { Market } from "../../../durable-objects/market/market";
import { writeMeta } from "../../../durable-objects/market/schema";
import type { OrderBook } from "../../../durable-objects/order-book";
import { balanceOf } from "./helpers";
import { epochOf, heldMarket, matchPair } from "./settlement-helpers";

describe("a market's grid and its unsettled fills", () => {
  it("tick and lot cannot change while fills are unsettled; the fills settle from their own minor units", async () => {
    await withDatabase(env, async (db) => {
      const { seller, buyer, order, rules, book } = await heldMarket(db);
      await matchPair(order, seller, buyer, "0.02"); // the book is empty again, the fill unsettled
      const trade = (await book.readOutbox(0)).entries.find((e) => e.kind === "trade")!;
      expect(trade).toMatchObject({ priceMinor: "50000000000", quantityMinor: "2000000" });

      const regridded = { ...rules, tickSize: 30_000n, lotSize: 7_000n };
      const refused = await book.configure(toBookRules(regridded));
      expect(refused).toEqual({ ok: false, message: expect.stringMatching(/fills are settled/) });

      // Even a settler holding other rules (e.g. Postgres changed first) settles what matched.
      await settleMarket(db, book, regridded);
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 1_996_000n, locked: 0n });
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 999_000_000n, locked: 0n });
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 9_000_000_000n, locked: 0n });

      // Settled and empty: now the grid may change.
      expect(await book.configure(toBookRules(regridded))).toMatchObject({ ok: true });
    });
  });
});

describe("an order book whose storage was reset", () => {
  it("is refused with an error, never taken for settled: its entries stay until someone decides", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await matchPair(order, seller, buyer);
      await settleMarket(db, book, rules);
      const epoch = await epochOf(market);
      const cursor = async () =>
        (await db.select().from(settlementCursors).where(eq(settlementCursors.market, market)))[0]!;
      expect(await cursor()).toMatchObject({ epoch });

      // The reset: a new storage identity whose outbox is numbered from 1 again.
      await runInDurableObject(book, (instance: OrderBook, state) => {
        const m = (instance as unknown as { market: Market }).market;
        m.counters.epoch = crypto.randomUUID();
        m.counters.outboxSeq = 0;
        writeMeta(state.storage.sql, "counters", m.counters);
      });
      await matchPair(order, seller, buyer);
      const before = await book.readOutbox(0);
      expect(before.entries.map((e) => e.seq)[0]).toBe(1);
      const balances = [await balanceOf(buyer, "BTC"), await balanceOf(seller, "USDT")];

      await expect(settleMarket(db, book, rules)).rejects.toBeInstanceOf(SettlementEpochError);
      // Nothing settled, nothing acknowledged, the cursor untouched.
      expect((await book.readOutbox(0)).entries).toEqual(before.entries);
      expect([await balanceOf(buyer, "BTC"), await balanceOf(seller, "USDT")]).toEqual(balances);
      expect(await cursor()).toMatchObject({ epoch });
      // An acknowledgement counted in the old storage's sequence deletes nothing.
      expect(await book.ackOutbox(1_000, epoch)).toEqual({ acknowledged: 0 });

      // A cursor older than epochs (none recorded) ahead of the book is refused too.
      await db
        .update(settlementCursors)
        .set({ epoch: null, lastSeq: 1_000 })
        .where(eq(settlementCursors.market, market));
      await expect(settleMarket(db, book, rules)).rejects.toThrow(/behind the cursor/);
      expect((await book.readOutbox(0)).entries).toEqual(before.entries);
    });
  });
});
