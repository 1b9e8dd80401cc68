import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { appendOutbox, readOutbox } from "../../../durable-objects/market/outbox";
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
});
