import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MatchingEngine } from "../../../durable-objects/engine";
import {
  appendJournal,
  journalAfter,
  truncateJournal,
  type JournalEntry,
} from "../../../durable-objects/market/journal";
import { Market } from "../../../durable-objects/market/market";
import { createSchema } from "../../../durable-objects/market/schema";
import { latestSnapshot, oldestSnapshotSeq, writeSnapshot } from "../../../durable-objects/market/snapshots";
import type { OrderBook } from "../../../durable-objects/order-book";
import { configuredBook, randomCommands } from "./helpers";

// Crash recovery of the market journal written as pages (one row per batch, at most 2,000
// commands a row; ./journal.ts): what a restarted object rebuilds from them.

type Book = DurableObjectStub<OrderBook>;
type Page = { seq: number; first_seq: number | null };

async function observable(book: Book) {
  return {
    sequence: await book.sequence(),
    depth: await book.fullDepth(),
    trades: await book.trades(1000),
    outbox: (await book.readOutbox(0, 10_000)).entries,
  };
}

/** Resets the object as an eviction or redeploy would: the next call builds it anew from storage. */
async function restarted(book: Book, symbol: string): Promise<Book> {
  await runInDurableObject(book, (_instance, state) => {
    try {
      state.abort("test reset");
    } catch {}
  }).catch(() => {});
  return env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
}

const pagesOf = (sql: SqlStorage) =>
  sql.exec<Page>("SELECT seq, first_seq FROM journal ORDER BY seq").toArray();

const liveMarket = (instance: OrderBook) => (instance as unknown as { market: Market }).market;

/** The engine as storage leaves it at `seq`: the latest snapshot, then the journal up to `seq`. */
function engineAt(sql: SqlStorage, seq: number): MatchingEngine {
  const snapshot = latestSnapshot(sql)!;
  const engine = MatchingEngine.restore(snapshot.engine);
  for (const e of journalAfter(sql, snapshot.journalSeq)) {
    if (e.seq > seq) break;
    engine.apply(e.command);
    engine.events.clear();
  }
  return engine;
}

describe("market journal pages: recovery", () => {
  it("a batch of more commands than a page takes rebuilds the same book, ids, outbox and sequence", async () => {
    const symbol = "JPBIG-USDT";
    let book = await configuredBook(symbol);
    await book.placeBatch(randomCommands(21, 100, "a"));
    await book.placeBatch(randomCommands(22, 4_500, "b"));
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const last = liveMarket(instance).counters.journalSeq;
      const pages = pagesOf(state.storage.sql);
      // The big batch: two full pages and the rest, consecutive, ending at the counters' sequence.
      const big = pages.slice(-3);
      expect(big.map((p) => p.seq - p.first_seq! + 1).slice(0, 2)).toEqual([2_000, 2_000]);
      expect(big[1]!.first_seq).toBe(big[0]!.seq + 1);
      expect(big[2]!.first_seq).toBe(big[1]!.seq + 1);
      expect(big[2]!.seq).toBe(last);
    });
    const before = await observable(book);
    const orders = await Promise.all(
      ["b-1999", "b-2000", "b-4001", "b-4499"].map((id) => book.getOrder({ orderId: id })),
    );

    book = await restarted(book, symbol);
    expect(await observable(book)).toEqual(before);
    expect(
      await Promise.all(["b-1999", "b-2000", "b-4001", "b-4499"].map((id) => book.getOrder({ orderId: id }))),
    ).toEqual(orders);
    const next = await book.placeBatch(randomCommands(23, 50, "c"));
    const placed = next.find((r) => r.ok && r.order);
    expect(placed!.ok && placed!.order!.seq).toBe(before.sequence.journalSeq + 1);
  });

  it("snapshots inside pages: truncation keeps the pages they split whole, replay starts after them", async () => {
    const symbol = "JPSPLIT-USDT";
    let book = await configuredBook(symbol);
    await book.placeBatch(randomCommands(31, 300, "a"));
    await book.snapshotNow();
    await book.placeBatch(randomCommands(32, 200, "b"));
    await book.placeBatch(randomCommands(33, 200, "c"));
    await book.placeBatch(randomCommands(34, 200, "d"));
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const sql = state.storage.sql;
      const live = liveMarket(instance);
      const [b, c] = pagesOf(sql).slice(-3);
      // Two snapshots neither page boundary: in the middle of b's page, then of c's.
      const inB = b!.first_seq! + 77;
      const inC = c!.first_seq! + 123;
      for (const at of [inB, inC]) {
        writeSnapshot(sql, Date.now(), {
          journalSeq: at,
          engine: engineAt(sql, at).snapshot(),
          counters: { ...live.counters },
        });
        truncateJournal(sql, oldestSnapshotSeq(sql));
      }
      // Only what both kept snapshots cover is gone: b's page stays whole, a's went.
      expect(oldestSnapshotSeq(sql)).toBe(inB);
      expect(pagesOf(sql)[0]).toEqual(b);
      // Replay from either snapshot starts at the command right after it, and has no gap.
      for (const from of [inB, inC]) {
        const seqs = [...journalAfter(sql, from)].map((e) => e.seq);
        expect(seqs).toEqual(Array.from({ length: live.counters.journalSeq - from }, (_, i) => from + 1 + i));
      }
      const rebuilt = new Market(sql);
      expect(rebuilt.engine.stateHash()).toBe(live.engine.stateHash());
      expect(rebuilt.counters).toEqual(live.counters);
    });
    const before = await observable(book);
    book = await restarted(book, symbol);
    expect(await observable(book)).toEqual(before);
  });

  it("an object whose journal table predates pages gets the column once and replays old rows then pages", async () => {
    const symbol = "JPMIGRATE-USDT";
    let book = await configuredBook(symbol);
    for (let i = 0; i < 3; i++) await book.placeBatch(randomCommands(41 + i, 150, `o${i}`));
    // Storage as the code before pages left it: the old table, one command a row.
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      const entries: JournalEntry[] = [...journalAfter(sql, 0)];
      sql.exec("DROP TABLE journal");
      sql.exec("CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, command TEXT NOT NULL)");
      sql.exec(
        `INSERT INTO journal (seq, ts, command)
           SELECT value ->> 'seq', value ->> 'ts', value -> 'command' FROM json_each(?)`,
        JSON.stringify(entries),
      );
    });
    const before = await observable(book);

    book = await restarted(book, symbol);
    expect(await observable(book)).toEqual(before);
    await book.placeBatch(randomCommands(45, 300, "n"));
    const after = await observable(book);
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      createSchema(sql); // again: nothing to add
      const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('journal')").toArray();
      expect(columns.map((c) => c.name)).toEqual(["seq", "ts", "command", "first_seq"]);
      const rows = pagesOf(sql);
      expect(rows.filter((r) => r.first_seq === null)).toHaveLength(before.sequence.journalSeq);
      expect(rows.at(-1)).toEqual({
        seq: after.sequence.journalSeq,
        first_seq: before.sequence.journalSeq + 1,
      });
    });
    book = await restarted(book, symbol);
    expect(await observable(book)).toEqual(after);
  });

  it("a page of 2,000 of the largest engine commands stays well under SQLite's 2 MB a value", async () => {
    const book = await configuredBook("JPSIZE-USDT");
    const big = Number.MAX_SAFE_INTEGER;
    // Every field a placement may carry, at its longest (the caller's ids never reach the journal).
    const place = {
      kind: "place" as const,
      orderId: big,
      userId: big,
      side: "sell" as const,
      type: "trailing_stop" as const,
      price: 2 ** 31 - 1,
      quantity: big,
      quoteQuantity: big,
      stopPrice: 2 ** 31 - 1,
      trailingOffset: big,
      trailingUnit: "ticks" as const,
      timeInForce: "GTC" as const,
      postOnly: false,
      stp: "expire_maker" as const,
      visibleQuantity: big,
    };
    const oco = {
      kind: "place_oco" as const,
      orderId: big,
      stopOrderId: big,
      userId: big,
      side: "sell" as const,
      quantity: big,
      price: 2 ** 31 - 1,
      stopPrice: 2 ** 31 - 1,
      stopLimitPrice: 2 ** 31 - 1,
      stp: "expire_maker" as const,
    };
    const longest = Math.max(JSON.stringify(place).length, JSON.stringify(oco).length);
    expect(longest * 2_000).toBeLessThan(1_000_000);
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      const from = 5_000_000;
      const entries = Array.from({ length: 2_000 }, (_, i) => ({
        seq: from + i,
        ts: 9,
        command: i % 2 ? place : oco,
      }));
      appendJournal(sql, entries);
      expect([...journalAfter(sql, from - 1)]).toEqual(entries);
      // The local SQLite takes values past 2 MB (Cloudflare's refuses them): measured, not trusted.
      const stored = sql
        .exec<{ n: number }>("SELECT length(command) AS n FROM journal WHERE seq = ?", from + 1_999)
        .one().n;
      expect(stored).toBeLessThan(1_000_000);
      sql.exec("DELETE FROM journal WHERE seq >= ?", from);
    });
  });
});
