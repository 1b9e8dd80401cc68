import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeldOutbox } from "../../../durable-objects/market/held-outbox";
import { ackOutbox, appendOutbox, readOutboxPages } from "../../../durable-objects/market/outbox";
import type { OutboxEntry } from "../../../src/domain/market/commands";
import { configuredBook } from "./helpers";
import { expectSamePages } from "./same-pages";

/**
 * The settler's pages taken from the entries the object holds since its flushes
 * (market/held-outbox.ts) against the same pages read back from storage and parsed: for any
 * flushes (entries with quotes, backslashes, control characters, fields left undefined, flushes
 * larger than a stored page), acknowledgements (inside a page too), rows written by someone else,
 * restarts (memory lost) and a bound on what is held, every read gives the same pages (count,
 * epoch, marks) and the same `settle_page` statement, text and parameters.
 */

const RULES = { symbol: "HLD-USDT", baseAsset: "HLD", quoteAsset: "USDT", baseDecimals: 8 };

const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 6 }) },
  fc.constantFrom('a"b', "back\\slash", "line\nfeed", "tab\t", "\u0000", "\ud800", "é€😀", "NULL", "{}", ","),
);
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

/** An entry of either kind, its optional fields sometimes present with the value undefined. */
const fields = fc.oneof(
  fc.record({
    kind: fc.constant("trade" as const),
    tradeId: text,
    market: fc.constant(RULES.symbol),
    price: text,
    quantity: text,
    priceMinor: maybe(text),
    quantityMinor: maybe(text),
    takerSide: fc.constantFrom("buy" as const, "sell" as const),
    takerOrderId: text,
    takerUserId: text,
    makerOrderId: text,
    makerUserId: text,
    makerFeeBps: fc.integer({ min: -10, max: 100 }),
    takerFeeBps: fc.integer({ min: 0, max: 100 }),
  }),
  fc.record(
    {
      kind: fc.constant("order" as const),
      event: fc.constantFrom("accepted" as const, "rejected" as const, "done" as const, "amended" as const),
      orderId: text,
      userId: text,
      market: fc.constant(RULES.symbol),
      status: maybe(fc.constantFrom("open" as const, "filled" as const, "cancelled" as const)),
      reason: maybe(text),
      price: maybe(text),
      quantity: maybe(text),
      priceMinor: maybe(text),
      quantityMinor: maybe(text),
    },
    { requiredKeys: ["kind", "event", "orderId", "userId", "market"] },
  ),
);

type Op =
  | {
      op: "flush";
      entries: (typeof fields extends fc.Arbitrary<infer F> ? F : never)[];
      ts: number;
      big: boolean;
    }
  | { op: "ack"; back: number }
  | { op: "foreign" }
  | { op: "restart" }
  | { op: "read"; back: number; max: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("flush" as const),
      entries: fc.array(fields, { minLength: 1, maxLength: 6 }),
      ts: fc.integer({ min: 1, max: 2_000_000_000_000 }),
      // A flush of more entries than a stored page takes (market/row-pages.ts): several pages.
      big: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("ack" as const), back: fc.nat(12) }) },
  { weight: 1, arbitrary: fc.constant({ op: "foreign" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "restart" as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("read" as const),
      back: fc.nat(15),
      max: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(2_000), fc.constant(5_000)),
    }),
  },
);

describe("the outbox pages the object holds in memory", () => {
  it("give the settler the very pages and statement storage gives", async () => {
    const book = await configuredBook(RULES.symbol);
    const seen = { memory: 0, storage: 0, none: 0 };
    await runInDurableObject(book, async (_instance, state) => {
      const sql = state.storage.sql;
      await fc.assert(
        fc.property(
          fc.array(op, { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 3, max: 3_000 }),
          (ops, bound) => {
            sql.exec("DELETE FROM outbox");
            let held = new HeldOutbox(bound);
            let seq = 0;
            for (const o of ops) {
              switch (o.op) {
                case "flush": {
                  const shapes = o.big
                    ? Array.from({ length: 2_100 }, (_, i) => o.entries[i % o.entries.length]!)
                    : o.entries;
                  const entries = shapes.map((f, i) => ({ ...f, seq: ++seq, ts: o.ts + i }) as OutboxEntry);
                  appendOutbox(sql, entries, "e1");
                  held.committed(entries, "e1");
                  break;
                }
                case "ack":
                  ackOutbox(sql, Math.max(0, seq - o.back));
                  break;
                case "foreign": {
                  // A row the object's memory never saw (a test's injected entry, an older writer).
                  const entry = {
                    seq: ++seq,
                    ts: 1,
                    kind: "order",
                    event: "rejected",
                    orderId: "x",
                    userId: "u",
                    market: RULES.symbol,
                  };
                  appendOutbox(sql, [entry as OutboxEntry], "e1");
                  break;
                }
                case "restart":
                  held = new HeldOutbox(bound);
                  break;
                case "read": {
                  const afterSeq = Math.max(0, seq - o.back);
                  const fromMemory = readOutboxPages(sql, afterSeq, o.max, held);
                  const stored = readOutboxPages(sql, afterSeq, o.max);
                  seen[expectSamePages(fromMemory, stored, afterSeq)]++;
                  break;
                }
              }
            }
          },
        ),
        { numRuns: 150 },
      );
      sql.exec("DELETE FROM outbox");
    });
    // Both ways were taken: memory when it had every page, storage when it did not.
    expect(seen.memory).toBeGreaterThan(50);
    expect(seen.storage).toBeGreaterThan(10);
  }, 120_000);

  it("lets go of pages storage no longer has, and holds no more than its bound", () => {
    const entry = (seq: number) =>
      ({ seq, ts: 1, kind: "order", event: "done", orderId: "o", userId: "u", market: "M" }) as OutboxEntry;
    const held = new HeldOutbox(5);
    held.committed([entry(1), entry(2)], "e");
    held.committed([entry(3), entry(4), entry(5)], "e");
    held.committed([entry(6)], "e"); // over the bound: not held
    held.committed([entry(7)], undefined); // no epoch: never held
    expect(held.page(2, 2)?.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(held.page(5, 2)).toBeUndefined(); // storage's page holds other entries
    expect(held.page(6, 1)).toBeUndefined();
    held.dropBelow(3);
    expect(held.size).toBe(1);
    held.committed([entry(8), entry(9)], "e");
    expect(held.page(9, 2)).toBeDefined();
  });
});
