import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase, type Database } from "../../../src/db/client";
import { trades } from "../../../src/db/schema";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import { balanceOf } from "../trading/helpers";
import { heldMarket, matchPair } from "../trading/settlement-helpers";
import { notedAcks } from "./noted-acks";

/** Entries per batch here: three matched pairs make several batches. */
const BATCH = 3;

/** The database, but its `nth` statement (counted from 1) is refused as by a lost connection. */
function refusingStatement(db: Database, nth: number): Database {
  let statements = 0;
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "execute") {
        return (...args: Parameters<Database["execute"]>) =>
          ++statements === nth ? Promise.reject(new Error("connection lost")) : target.execute(...args);
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const sequences = async (book: OutboxSource) => (await book.readOutbox(0, 1_000)).entries.map((e) => e.seq);

describe("the deferred outbox acknowledgement against Postgres", () => {
  it("a failed statement and a crash after a commit leave every fill settled exactly once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      for (let i = 0; i < 3; i++) await matchPair(order, seller, buyer);
      const all = await sequences(book);
      expect(all.length).toBeGreaterThanOrEqual(3 * BATCH);
      const batchEnd = (k: number) => all[k * BATCH - 1]!;

      // Batch 2's statement fails: batch 1, committed, is acknowledged once; batch 2 stays.
      const failed = notedAcks(book, BATCH);
      await expect(settleMarket(refusingStatement(db, 2), failed.source, rules)).rejects.toThrow(
        "connection lost",
      );
      expect(failed.acks).toEqual([batchEnd(1)]);
      expect((await sequences(book))[0]).toBe(all[BATCH]);

      // The next run crashes once its second batch (3rd of the outbox) committed: its first batch
      // was acknowledged when the second's statement went out, the second never.
      const crashed = notedAcks(book, BATCH);
      let commits = 0;
      await expect(
        settleMarket(db, crashed.source, rules, {
          afterCommit: () => {
            if (++commits === 2) throw new Error("crash before the acknowledgement");
          },
        }),
      ).rejects.toThrow("crash before the acknowledgement");
      expect(crashed.acks).toEqual([batchEnd(2)]);
      expect((await sequences(book))[0]).toBe(all[2 * BATCH]);

      // Later runs skip what the cursor says is settled and settle the rest, once.
      await settleMarket(db, book, rules);
      await settleMarket(db, book, rules);
      expect(await sequences(book)).toEqual([]);
      expect(await db.select().from(trades).where(eq(trades.market, market))).toHaveLength(3);
      // 0.03 BTC sold at 50,000: the seller pays the 0.1% maker fee in USDT, the buyer 0.2% in BTC.
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 1_498_500_000n, locked: 0n });
      expect(await balanceOf(seller, "BTC")).toEqual({ available: 7_000_000n, locked: 0n });
      expect(await balanceOf(buyer, "USDT")).toEqual({ available: 8_500_000_000n, locked: 0n });
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 2_994_000n, locked: 0n });
    });
  });
});
