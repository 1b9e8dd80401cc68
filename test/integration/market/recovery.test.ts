import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OrderBook } from "../../../durable-objects/order-book";
import { appendJournal, journalAfter } from "../../../durable-objects/market/journal";
import { Market } from "../../../durable-objects/market/market";
import {
  latestSnapshot,
  oldestSnapshotSeq,
  snapshotMarket,
  snapshotWrites,
} from "../../../durable-objects/market/snapshots";
import { MatchingEngine } from "../../../durable-objects/engine";
import { INTERVAL_NAMES } from "../../../durable-objects/market/market-data/candles";
import { configuredBook, randomCommands } from "./helpers";

type Book = DurableObjectStub<OrderBook>;

async function observable(book: Book) {
  return {
    sequence: await book.sequence(),
    depth: await book.fullDepth(),
    trades: await book.trades(1000),
    candles: await Promise.all(INTERVAL_NAMES.map((interval) => book.candles({ interval }))),
    ticker: { ...(await book.ticker()), ts: 0, window_start: 0 },
    outbox: (await book.readOutbox(0, 5000)).entries,
  };
}

/** Resets the object as an eviction or redeploy would: the next call builds it anew from storage. */
async function resetObject(book: Book): Promise<void> {
  await runInDurableObject(book, (_instance, state) => {
    try {
      state.abort("test reset");
    } catch {}
  }).catch(() => {});
}

describe("OrderBook object: durability", () => {
  it("rebuilds the same book, sequence and candles after a reset mid-stream", async () => {
    const symbol = "RST-USDT";
    const commands = randomCommands(7, 1_000, "r");
    let book = await configuredBook(symbol);
    for (let i = 0; i < 400; i += 50) await book.placeBatch(commands.slice(i, i + 50));
    await book.snapshotNow(); // replay then starts from a snapshot plus a journal tail
    for (let i = 400; i < 1_000; i += 50) await book.placeBatch(commands.slice(i, i + 50));
    const before = await observable(book);
    expect(before.sequence.orderCount).toBeGreaterThan(10);
    expect(before.trades.length).toBeGreaterThan(10);

    await resetObject(book);
    book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
    expect(await observable(book)).toEqual(before);

    // The rebuilt object carries on from the same sequence.
    const results = await book.placeBatch(randomCommands(8, 100, "r2"));
    const placed = results.filter((r) => r.ok && r.order);
    expect(placed[0]!.ok && placed[0]!.order!.seq).toBe(before.sequence.journalSeq + 1);
  });

  it("a placement the old engine refused for its distance (205) stays refused when the journal replays", async () => {
    const symbol = "FAR205-USDT";
    let book = await configuredBook(symbol);
    const near = { userId: "ann", side: "buy" as const, type: "limit" as const, quantity: "0.01" };
    expect(await book.place({ ...near, orderId: "near", price: "64000.00" })).toMatchObject({ ok: true });
    // What the engine before far levels left in storage for a sell at 10x the market: the
    // journaled command and the order's refusal (its lock was released by settlement).
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      const counters = JSON.parse(
        sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'counters'").one().value,
      ) as { journalSeq: number; nextOrderNum: number };
      const num = counters.nextOrderNum;
      const command = {
        kind: "place",
        orderId: num,
        userId: 1,
        side: "sell",
        type: "limit",
        price: 64_000_000,
        quantity: 1_000,
      };
      sql.exec(
        "INSERT INTO journal (seq, ts, command) VALUES (?, ?, ?)",
        counters.journalSeq + 1,
        Date.now(),
        JSON.stringify(command),
      );
      sql.exec(
        "INSERT INTO orders (num, order_id, client_order_id, user_id, result) VALUES (?, 'far', NULL, 'ann', ?)",
        num,
        JSON.stringify({
          ok: false,
          code: "PRICE_OUT_OF_RANGE",
          message: "The order was rejected: price out of range",
        }),
      );
      sql.exec(
        "UPDATE meta SET value = ? WHERE key = 'counters'",
        JSON.stringify({ ...counters, journalSeq: counters.journalSeq + 1, nextOrderNum: num + 1 }),
      );
    });
    await resetObject(book);
    book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
    const depth = await book.fullDepth();
    expect(depth!.asks).toEqual([]);
    expect(depth!.bids.map(([price]) => price)).toEqual(["64000.00"]);
    expect((await book.sequence()).orderCount).toBe(1);
  });

  it("OCO pairs and amendments survive a rebuild: both legs known, still linked, amendments in place", async () => {
    const symbol = "OCORST-USDT";
    let book = await configuredBook(symbol);
    const pair = await book.placeOco({
      orderId: "oco-l",
      stopOrderId: "oco-s",
      userId: "ann",
      side: "sell",
      quantity: "0.010",
      price: "64010.00",
      stopPrice: "63990.00",
    });
    expect(pair).toMatchObject({
      ok: true,
      orders: [{ orderId: "oco-l" }, { orderId: "oco-s", type: "stop_loss" }],
    });
    expect(
      await book.placeOco({
        ...{ orderId: "oco-l", stopOrderId: "oco-s", userId: "ann" },
        side: "sell",
        quantity: "0.010",
        price: "64010.00",
        stopPrice: "63990.00",
      }),
    ).toMatchObject({ ok: true, duplicate: true });
    await book.place({
      orderId: "bid",
      userId: "ben",
      side: "buy",
      type: "limit",
      price: "63900.00",
      quantity: "0.020",
    });
    expect(await book.amend("bid", { price: "63950.00", quantity: "0.015", amendId: "am-1" })).toMatchObject({
      ok: true,
    });
    const amended = (await book.readOutbox(0, 100)).entries.find(
      (e) => e.kind === "order" && e.event === "amended",
    );
    expect(amended).toMatchObject({
      orderId: "bid",
      amendId: "am-1",
      price: "63950.00",
      quantity: "0.01500",
    });
    await book.snapshotNow();
    await book.place({
      orderId: "bid2",
      userId: "ben",
      side: "buy",
      type: "limit",
      price: "63940.00",
      quantity: "0.010",
    });
    const before = await observable(book);

    await resetObject(book);
    book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
    expect(await observable(book)).toEqual(before);
    expect((await book.getOrder({ orderId: "oco-s" })).live).toMatchObject({ status: "pending_stop" });
    // Cancelling the stop leg after the rebuild still takes the limit leg with it.
    expect(await book.cancel("oco-s", "ann")).toMatchObject({ ok: true, cancelled: ["oco-s", "oco-l"] });
    expect((await book.getOrder({ orderId: "oco-l" })).live).toBeNull();
  });

  it("replays a journal of pages and of the one-command rows written before pages, from any sequence", async () => {
    const book = await configuredBook("PAGES-USDT");
    const commands = randomCommands(12, 400, "g");
    for (let i = 0; i < 400; i += 50) await book.placeBatch(commands.slice(i, i + 50));
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const sql = state.storage.sql;
      const live = (instance as unknown as { market: Market }).market;
      const last = live.counters.journalSeq;
      const seqs = (after: number) => [...journalAfter(sql, after, 2)].map((e) => e.seq);
      const all = [...journalAfter(sql, 0)];
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      // A sequence inside a page: only the page's later entries, then every later page.
      const pages = sql
        .exec<{ seq: number; first_seq: number }>("SELECT seq, first_seq FROM journal")
        .toArray();
      expect(pages.length).toBeLessThan(last);
      const split = pages.find((p) => p.seq > p.first_seq + 1)!;
      expect(seqs(split.first_seq)).toEqual(
        Array.from({ length: last - split.first_seq }, (_, i) => split.first_seq + 1 + i),
      );
      // Storage from before pages: the first pages' entries as one row each.
      const old = all.filter((e) => e.seq <= split.seq);
      sql.exec("DELETE FROM journal WHERE seq <= ?", split.seq);
      for (const e of old) {
        sql.exec(
          "INSERT INTO journal (seq, ts, command) VALUES (?, ?, ?)",
          e.seq,
          e.ts,
          JSON.stringify(e.command),
        );
      }
      expect([...journalAfter(sql, 0)]).toEqual(all);
      expect(seqs(split.seq - 1)).toEqual(
        Array.from({ length: last - split.seq + 1 }, (_, i) => split.seq + i),
      );
      const rebuilt = new Market(sql);
      expect(rebuilt.engine.stateHash()).toBe(live.engine.stateHash());
    });
  });

  it("writes a batch of more commands than a journal row takes as several pages", async () => {
    const book = await configuredBook("BIGPAGE-USDT");
    await runInDurableObject(book, (_instance, state) => {
      const sql = state.storage.sql;
      const from = 1_000_000;
      const entries = Array.from({ length: 4_500 }, (_, i) => ({
        seq: from + i,
        ts: 7,
        command: { kind: "cancel" as const, orderId: i + 1 },
      }));
      appendJournal(sql, entries);
      const rows = sql.exec("SELECT seq FROM journal WHERE seq >= ?", from).toArray();
      expect(rows.map((r) => r.seq)).toEqual([from + 1_999, from + 3_999, from + 4_499]);
      expect([...journalAfter(sql, from - 1)]).toEqual(entries);
      sql.exec("DELETE FROM journal WHERE seq >= ?", from);
    });
  });

  it("a Market built from storage alone equals the live one (snapshot plus journal replay)", async () => {
    const book = await configuredBook("REPLAY-USDT");
    const commands = randomCommands(11, 600, "p");
    await book.placeBatch(commands.slice(0, 300));
    await book.snapshotNow();
    await book.placeBatch(commands.slice(300));
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const live = (instance as unknown as { market: Market }).market;
      const rebuilt = new Market(state.storage.sql);
      expect(rebuilt.engine.stateHash()).toBe(live.engine.stateHash());
      expect(rebuilt.engine.events.nextSeq).toBe(live.engine.events.nextSeq);
      expect(rebuilt.counters).toEqual(live.counters);
    });
  });

  it("a snapshot written over many turns while batches come in is its begin's state, and restores with the journal after it", async () => {
    const symbol = "SNAPTURNS-USDT";
    const commands = randomCommands(51, 1_200, "t");
    let book = await configuredBook(symbol);
    for (let i = 0; i < 600; i += 100) await book.placeBatch(commands.slice(i, i + 100));
    await runInDurableObject(book, async (instance: OrderBook, state) => {
      const market = (instance as unknown as { market: Market }).market;
      const begun = market.counters.journalSeq;
      const hash = market.engine.stateHash();
      // The journal sequence each encoder step saw: batches ran between the steps.
      const seen: number[] = [];
      const engine = {
        beginSnapshot(slice: number) {
          const encoder = market.engine.beginSnapshot(slice);
          return {
            step: () => (seen.push(market.counters.journalSeq), encoder.step()),
            get bytes() {
              return encoder.bytes;
            },
          };
        },
      };
      const placing = (async () => {
        for (let i = 600; i < 1_200; i += 50) {
          await new Promise((resolve) => setTimeout(resolve, 0)); // batches arrive over time
          await instance.placeBatch(commands.slice(i, i + 50));
        }
      })();
      const [taken] = await Promise.all([
        snapshotMarket(state.storage, { counters: market.counters, engine }, 8),
        placing,
      ]);
      expect(taken.journalSeq).toBe(begun);
      expect(new Set(seen).size).toBeGreaterThan(5);
      const stored = latestSnapshot(state.storage.sql)!;
      expect(stored.journalSeq).toBe(begun);
      expect(MatchingEngine.restore(stored.engine).stateHash()).toBe(hash);
      expect(market.counters.journalSeq).toBeGreaterThan(begun);
    });
    const before = await observable(book);
    await resetObject(book);
    book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
    expect(await observable(book)).toEqual(before);
  });

  it("a snapshot cut off part-way (chunks, no row) is not read: a restart restores the previous one and the journal; the next snapshot clears it", async () => {
    const symbol = "SNAPCUT-USDT";
    const commands = randomCommands(52, 900, "c");
    let book = await configuredBook(symbol);
    await book.placeBatch(commands.slice(0, 300));
    await book.snapshotNow();
    await book.placeBatch(commands.slice(300, 600));
    const orphans = (sql: SqlStorage) =>
      sql
        .exec<{ id: number }>(
          "SELECT snapshot_id AS id FROM snapshot_chunks WHERE snapshot_id NOT IN (SELECT id FROM snapshots)",
        )
        .toArray()
        .map((r) => r.id);
    // What a crash after the first chunk leaves, and one more chunk of a later attempt.
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const sql = state.storage.sql;
      const market = (instance as unknown as { market: Market }).market;
      const writes = snapshotWrites(sql, Date.now(), {
        journalSeq: market.counters.journalSeq,
        engine: market.engine.snapshot(),
        counters: { ...market.counters },
      });
      writes.next();
      const id = orphans(sql)[0]!;
      sql.exec(
        "INSERT INTO snapshot_chunks (snapshot_id, idx, data) VALUES (?, 0, ?)",
        id + 1,
        new Uint8Array(9),
      );
      expect(orphans(sql)).toEqual([id, id + 1]);
    });
    const before = await observable(book);
    await resetObject(book);
    book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
    expect(await observable(book)).toEqual(before);
    await book.placeBatch(commands.slice(600));
    const taken = await book.snapshotNow();
    await runInDurableObject(book, (instance: OrderBook, state) => {
      const sql = state.storage.sql;
      const live = (instance as unknown as { market: Market }).market;
      expect(orphans(sql)).toEqual([]);
      expect(latestSnapshot(sql)!.journalSeq).toBe(taken.journalSeq);
      // The journal is dropped only up to what the older kept snapshot covers.
      const first = sql.exec<{ seq: number }>("SELECT min(seq) AS seq FROM journal").one().seq;
      expect(first).toBeGreaterThan(oldestSnapshotSeq(sql));
      const rebuilt = new Market(sql);
      expect(rebuilt.engine.stateHash()).toBe(live.engine.stateHash());
      expect(rebuilt.counters).toEqual(live.counters);
    });
  });
});
