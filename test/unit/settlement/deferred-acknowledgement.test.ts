import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Database } from "../../../src/db/client";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import type { OutboxPages } from "../../../src/domain/settlement/settle-page";
import { Logger, type LogFields } from "../../../src/lib/logger";
import { BTC_USDT as rules } from "../trading/fixtures";

/** A statement's time in the fake database: longer than the timer turn the acknowledgement waits. */
const STATEMENT_MS = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps its warnings (a failed acknowledgement is logged, not thrown). */
class KeptLog extends Logger {
  readonly warnings: { msg: string; fields?: LogFields }[] = [];
  constructor() {
    super("error");
  }
  override warn(msg: string, fields?: LogFields): void {
    this.warnings.push({ msg, fields });
  }
}

/**
 * An order book of `n` one-entry pages (sequences 1..n) whose acknowledgements delete, and a
 * database whose `settle_page` statements take `STATEMENT_MS`; the statement `failing` (1-based)
 * is refused by a lost connection, at once or after its time. Everything is noted in order.
 */
function world(n: number, opts: { failing?: number; failsAtOnce?: boolean; failingAck?: number } = {}) {
  const stored = new Map<number, object>();
  for (let seq = 1; seq <= n; seq++) {
    stored.set(seq, { seq, kind: "order", event: "accepted", orderId: crypto.randomUUID(), ts: seq });
  }
  const events: string[] = [];
  const reads: number[] = [];
  const acks: number[] = [];
  let statements = 0;
  let lastRead = 0;
  const book: OutboxSource = {
    readOutbox: async () => ({ entries: [], epoch: "e" }),
    ackOutbox: async (upto) => {
      events.push(`ack ${upto}`);
      if (upto === opts.failingAck) throw new Error("storage write failed");
      acks.push(upto);
      for (const seq of [...stored.keys()]) if (seq <= upto) stored.delete(seq);
    },
    publishBalances: async () => {},
  };
  const readPages = async (afterSeq: number): Promise<OutboxPages | null> => {
    const next = [...stored.keys()].filter((seq) => seq > afterSeq).sort((a, b) => a - b)[0];
    if (next === undefined) return null;
    reads.push(next);
    events.push(`read ${next}`);
    lastRead = next;
    // A page's mark (its last sequence) is where the settler reads the next page from.
    const marks = [{ seq: next, ts: next }];
    return { pages: JSON.stringify([stored.get(next)]), count: 1, epoch: "e", marks, lastSeq: n };
  };
  const db = {
    execute: async () => {
      const page = lastRead;
      const nth = ++statements;
      events.push(`write ${page}`);
      if (nth === opts.failing && opts.failsAtOnce) throw new Error("connection lost");
      await sleep(STATEMENT_MS);
      if (nth === opts.failing) throw new Error("connection lost");
      events.push(`commit ${page}`);
      const r = { status: "ok", last_seq: page, entries: 1, trades: 0, balances: [] };
      return { rows: [{ r: JSON.stringify(r) }] };
    },
  } as unknown as Database;
  const settle = (log: Logger = new Logger("error"), maxBatches?: number) =>
    settleMarket(db, book, rules, { afterSeq: 0, readPages, log, maxBatches });
  return { stored, events, reads, acks, settle, statements: () => statements };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("settleMarket acknowledges a batch once the next batch's statement is written", () => {
  it("every page is read once and acknowledged once, page N's acknowledgement after page N+1's statement is written and before it commits", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 7 }),
        async (n, maxBatches) => {
          const w = world(n);
          const result = await w.settle(undefined, maxBatches);
          const settled = Math.min(n, maxBatches);
          expect(result.batches).toBe(settled);
          expect(w.reads).toEqual(range(1, settled));
          expect(w.acks).toEqual(range(1, settled));
          expect([...w.stored.keys()]).toEqual(range(settled + 1, n));
          for (let page = 1; page < settled; page++) {
            const ack = w.events.indexOf(`ack ${page}`);
            expect(ack).toBeGreaterThan(w.events.indexOf(`commit ${page}`));
            // Carried into the next batch: made while its statement is out.
            expect(ack).toBeGreaterThan(w.events.indexOf(`write ${page + 1}`));
            expect(ack).toBeLessThan(w.events.indexOf(`commit ${page + 1}`));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a statement that fails leaves the page before it acknowledged exactly once, and its own page not", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))),
        fc.boolean(),
        async ([n, failing], failsAtOnce) => {
          const w = world(n, { failing, failsAtOnce });
          await expect(w.settle()).rejects.toThrow("connection lost");
          // By the time the call rejected: nothing is left running to acknowledge more.
          const acked = [...w.acks];
          await sleep(STATEMENT_MS * 2);
          expect(w.acks).toEqual(acked);
          expect(w.acks).toEqual(range(1, failing - 1));
          expect(w.reads).toEqual(range(1, failing));
          expect(w.stored.has(failing)).toBe(true);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("a failed acknowledgement is logged, not thrown: the batch being applied commits and the round goes on", async () => {
    const w = world(4, { failingAck: 1 });
    const log = new KeptLog();
    const result = await w.settle(log);
    expect(result.batches).toBe(4);
    expect(w.statements()).toBe(4);
    expect(w.events.filter((e) => e.startsWith("commit"))).toEqual([
      "commit 1",
      "commit 2",
      "commit 3",
      "commit 4",
    ]);
    // The next acknowledgement covers the entries the failed one left (the cursor skips them).
    expect(w.acks).toEqual([2, 3, 4]);
    expect(w.stored.size).toBe(0);
    expect(log.warnings).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ market: rules.symbol, upto_seq: 1 }) }),
    ]);
  });
});
