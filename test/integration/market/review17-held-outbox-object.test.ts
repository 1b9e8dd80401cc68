import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Market } from "../../../durable-objects/market/market";
import { readOutboxPages } from "../../../durable-objects/market/outbox";
import type { OrderBook } from "../../../durable-objects/order-book";
import type { ReadPages } from "../../../src/domain/settlement/settle-market";
import { entriesOf } from "../../../src/domain/settlement/settle-page";
import { configuredBook, randomCommands } from "./helpers";
import { restartObject } from "./restart-object";
import { expectSamePages } from "./same-pages";

/**
 * review17: the pages the object's settler takes from memory (market/held-outbox.ts) checked in
 * the object itself, as it is wired: flushes through its intake (`placeBatch`, one group each),
 * its settler's own acknowledgements deferred into the next group's transaction (inside pages
 * too), the Worker's acknowledgements over RPC, restarts (eviction, redeploy) between flushes.
 * Every read the settler would make gives exactly what storage holds at that moment: the same
 * `settle_page` statement, count, epoch and marks.
 */

type Book = DurableObjectStub<OrderBook>;
type Inside = {
  selfSettling: boolean;
  settler: { source: { readPages: ReadPages }; kick(): void };
  market: Market;
  noteAck(upto: number, epoch?: string): void;
};

type Op =
  | { op: "flush"; n: number }
  | { op: "noteAck"; back: number }
  | { op: "rpcAck"; back: number }
  | { op: "restart" }
  | { op: "read"; back: number; max: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant("flush" as const), n: fc.integer({ min: 1, max: 60 }) }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("noteAck" as const), back: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("rpcAck" as const), back: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.constant({ op: "restart" as const }) },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant("read" as const),
        back: fc.nat(80),
        max: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constant(2_000)),
      }),
    },
  ),
  { minLength: 5, maxLength: 30 },
);

/**
 * The object holds its pages only while it settles itself (its settler reads and lets them go):
 * marked so here, its settler kept quiet (the test reads as it would; no Postgres market behind).
 */
async function holding(book: Book): Promise<void> {
  await runInDurableObject(book, (instance: OrderBook) => {
    const inside = instance as unknown as Inside;
    inside.selfSettling = true;
    inside.settler.kick = () => {};
  });
}

describe("review17: the object's held outbox against its storage, as wired", () => {
  it("every read the settler makes equals storage's, through real groups, deferred and RPC acknowledgements and restarts", async () => {
    const symbol = `R17H${crypto.randomUUID().slice(0, 6).toUpperCase()}-USDT`;
    let book: Book = await configuredBook(symbol);
    await holding(book);
    const seen = { memory: 0, storage: 0, none: 0 };
    let prefix = 0;
    await fc.assert(
      fc.asyncProperty(ops, fc.integer({ min: 1, max: 1_000_000 }), async (script, seed) => {
        for (const o of script) {
          switch (o.op) {
            case "flush": {
              // One group: orders that rest, fill and cancel each other (trade and order entries).
              const results = await book.placeBatch(randomCommands(seed + prefix, o.n, `p${prefix++}`));
              expect(results).toHaveLength(o.n);
              break;
            }
            case "noteAck":
              // The settler's own acknowledgement: deleted by the next group's transaction (or alone soon).
              await runInDurableObject(book, (instance: OrderBook) => {
                const inside = instance as unknown as Inside;
                const seq = inside.market.counters.outboxSeq;
                inside.noteAck(Math.max(0, seq - o.back), inside.market.counters.epoch);
              });
              break;
            case "rpcAck": {
              const { lastSeq, epoch } = await book.readOutbox(0, 1);
              await book.ackOutbox(Math.max(0, (lastSeq ?? 0) - o.back), epoch);
              break;
            }
            case "restart":
              await restartObject(book);
              book = env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
              await holding(book);
              break;
            case "read":
              await runInDurableObject(book, async (instance: OrderBook, state) => {
                const inside = instance as unknown as Inside;
                const afterSeq = Math.max(0, inside.market.counters.outboxSeq - o.back);
                // Storage first, then the settler's reader, in the same turn: nothing changes between.
                const stored = readOutboxPages(state.storage.sql, afterSeq, o.max);
                const read = inside.settler.source.readPages(afterSeq, o.max);
                const settler = await read;
                const from = expectSamePages(settler, stored, afterSeq);
                seen[from]++;
                if (from === "none") return;
                // The entries themselves, field for field, as storage's text parses.
                const fromMemory = entriesOf(settler!);
                expect(JSON.parse(JSON.stringify(fromMemory))).toEqual(entriesOf(stored!));
              });
              break;
          }
        }
      }),
      { numRuns: 25 },
    );
    // Both ways were taken: memory when it held the very pages, storage after restarts and splits.
    expect(seen.memory).toBeGreaterThan(10);
    expect(seen.storage).toBeGreaterThan(3);
  }, 180_000);
});
