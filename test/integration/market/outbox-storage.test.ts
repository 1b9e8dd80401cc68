import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  ackOutbox,
  appendOutbox,
  outboxBacklog,
  outboxOrderIds,
  readOutbox,
  readOutboxPages,
} from "../../../durable-objects/market/outbox";
import { OutboxAcks } from "../../../durable-objects/market/outbox-acks";
import { createSchema } from "../../../durable-objects/market/schema";
import type { OutboxEntry } from "../../../src/domain/market/commands";
import { configuredBook } from "./helpers";

const entry = (seq: number): OutboxEntry => ({
  seq,
  kind: "order",
  ts: 1,
  event: "rejected",
  orderId: `o-${seq}`,
  userId: "u-1",
  market: "OBX-USDT",
  status: "rejected",
  reason: "TEST",
});

describe("the outbox's storage", () => {
  it("reads every row with the epoch it was written under, rows older than the epoch column included", async () => {
    const book = await configuredBook("OBX-USDT");
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      // Storage as it was before the column: the epoch inside the body.
      sql.exec("DROP TABLE outbox");
      sql.exec("CREATE TABLE outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      sql.exec("INSERT INTO outbox (seq, body) VALUES (1, ?)", JSON.stringify({ ...entry(1), epoch: "old" }));
      sql.exec("INSERT INTO outbox (seq, body) VALUES (2, ?)", JSON.stringify(entry(2)));
      createSchema(sql); // what a restarted object does first
      appendOutbox(sql, [entry(3), entry(4)], "new");
      appendOutbox(sql, [entry(5)]);
      const read = readOutbox(sql, 0, 10);
      expect(read.map((e) => [e.seq, e.epoch])).toEqual([
        [1, "old"],
        [2, undefined],
        [3, "new"],
        [4, "new"],
        [5, undefined],
      ]);
      expect(read[2]).toEqual({ ...entry(3), epoch: "new" });
      expect(readOutbox(sql, 3, 1).map((e) => e.seq)).toEqual([4]);
      sql.exec("DELETE FROM outbox");
    });
  });

  it("keeps one row per flush, hands whole pages over unparsed, and acknowledges across a page", async () => {
    const book = await configuredBook("OBX-USDT");
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM outbox");
      appendOutbox(sql, [entry(1), entry(2), entry(3)], "e1");
      appendOutbox(sql, [entry(4)], "e1");
      appendOutbox(sql, [entry(5), entry(6)], "e1");
      expect(sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n).toBe(3);
      expect(outboxBacklog(sql)).toBe(6);

      // Whole pages while they fit (always at least one), exactly as stored.
      const pages = readOutboxPages(sql, 0, 4)!;
      expect(pages.count).toBe(4);
      expect(pages.epoch).toBe("e1");
      expect(pages.marks).toEqual([
        { seq: 3, ts: 1 },
        { seq: 4, ts: 1 },
      ]);
      expect(typeof pages.pages).toBe("string"); // as stored: joined, unparsed
      const parsed = JSON.parse(pages.pages as string) as OutboxEntry[];
      expect(parsed.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(readOutboxPages(sql, 0, 1)!.count).toBe(3);
      expect(readOutboxPages(sql, 2, 100)!.count).toBe(6); // the first page is not cut
      expect(readOutboxPages(sql, 6, 100)).toBeNull();

      // An acknowledgement inside a page keeps the page's later entries, and only those.
      expect(ackOutbox(sql, 2)).toBe(2);
      expect(outboxBacklog(sql)).toBe(4);
      expect(readOutbox(sql, 0, 10).map((e) => e.seq)).toEqual([3, 4, 5, 6]);
      expect(readOutbox(sql, 0, 10)[0]).toEqual({ ...entry(3), epoch: "e1" });
      expect(outboxOrderIds(sql).sort()).toEqual(["o-3", "o-4", "o-5", "o-6"]);
      expect(readOutbox(sql, 4, 1).map((e) => e.seq)).toEqual([5]);
      expect(ackOutbox(sql, 5)).toBe(3);
      expect(readOutboxPages(sql, 0, 10)!.marks).toEqual([{ seq: 6, ts: 1 }]);
      expect(ackOutbox(sql, 6)).toBe(1);
      expect(outboxBacklog(sql)).toBe(0);

      // Rows from before pages are read as entries, never handed over as pages.
      sql.exec("INSERT INTO outbox (seq, body) VALUES (7, ?)", JSON.stringify({ ...entry(7), epoch: "old" }));
      appendOutbox(sql, [entry(8)], "e1");
      expect(readOutboxPages(sql, 0, 10)).toBeNull();
      expect(readOutbox(sql, 0, 10).map((e) => [e.seq, e.epoch])).toEqual([
        [7, "old"],
        [8, "e1"],
      ]);
      expect(outboxBacklog(sql)).toBe(2);
      expect(outboxOrderIds(sql).sort()).toEqual(["o-7", "o-8"]);
      sql.exec("DELETE FROM outbox");
    });
  });

  it("writes a flush of more entries than a page takes as several pages", async () => {
    const book = await configuredBook("OBX-USDT");
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM outbox");
      appendOutbox(
        sql,
        Array.from({ length: 4_500 }, (_, i) => entry(i + 1)),
        "e1",
      );
      const rows = sql.exec<{ seq: number; n: number }>("SELECT seq, n FROM outbox ORDER BY seq").toArray();
      expect(rows).toEqual([
        { seq: 2_000, n: 2_000 },
        { seq: 4_000, n: 2_000 },
        { seq: 4_500, n: 500 },
      ]);
      expect(outboxBacklog(sql)).toBe(4_500);
      expect(readOutboxPages(sql, 0, 2_000)!.count).toBe(2_000);
      expect(readOutboxPages(sql, 0, 10_000)!.count).toBe(4_500);
      expect(readOutbox(sql, 3_999, 3).map((e) => e.seq)).toEqual([4_000, 4_001, 4_002]);
      expect(ackOutbox(sql, 4_001)).toBe(4_001);
      expect(outboxBacklog(sql)).toBe(499);
      sql.exec("DELETE FROM outbox");
    });
  });

  it("deletes noted acknowledgements with the next transaction, or alone when none comes", async () => {
    const book = await configuredBook("OBX-USDT");
    await runInDurableObject(book, async (_instance, state) => {
      const sql = state.storage.sql;
      const rows = () => sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
      sql.exec("DELETE FROM outbox");
      appendOutbox(sql, [entry(1), entry(2), entry(3)], "e1");
      appendOutbox(sql, [entry(4), entry(5)], "e1");
      const acks = new OutboxAcks(state.storage, 50);

      // Noted: still stored, but no longer counted (a page split by the note counts its rest).
      acks.note(2);
      acks.note(1); // an older acknowledgement changes nothing
      expect(acks.backlog()).toBe(3);
      expect(outboxBacklog(sql, 4)).toBe(1);
      expect(rows()).toBe(2);

      // Deleted inside the next group's transaction.
      state.storage.transactionSync(() => acks.apply(sql));
      expect(readOutbox(sql, 0, 10).map((e) => e.seq)).toEqual([3, 4, 5]);
      expect(acks.backlog()).toBe(3);

      // None comes: deleted alone, soon after.
      acks.note(5);
      expect(acks.backlog()).toBe(0);
      expect(rows()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 120));
      expect(rows()).toBe(0);

      // A reader that must not see them flushes first.
      appendOutbox(sql, [entry(6)], "e1");
      acks.note(6);
      acks.flush();
      expect(rows()).toBe(0);
    });
  });
});
