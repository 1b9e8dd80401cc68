import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";
import { withDatabase, type Database } from "../../../src/db/client";
import { settlementCursors, settlementQuarantine, trades } from "../../../src/db/schema";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import type { PagePipeline } from "../../../src/domain/settlement/sent-pages";
import type { PageOutcome } from "../../../src/domain/settlement/settle-page";
import { balanceOf } from "../trading/helpers";
import { heldMarket, injectOutbox, matchPair } from "../trading/settlement-helpers";

/**
 * Pages pipelined on one connection (docs/decisions/0027): a page sent before the one ahead of it
 * is answered must never settle when that one did not (its entries would be skipped for good).
 * Against Postgres and the market object, with faults where the settler meets them: a page left
 * to the planner (an entry quarantined), a statement lost before Postgres ran it, an answer lost
 * after it committed, the cursor held by another settler, another settler settling meanwhile.
 */

/** Every page sent at once while there is room: the most pages out behind one that may not settle. */
const eager = { due: () => 0, sent: () => {}, answered: () => {} };

type Fault = "none" | "lost" | "answerLost";

/**
 * A pipeline on a line of its own; the statement numbered i (from 0, over every call using it)
 * meets `faults[i]`; `answers[i]` is what became of it (Postgres' status, or "lost").
 */
function pipelineOn(faults: readonly Fault[] = [], depth = 2) {
  const line = new LockLine(env, { answerMs: 10_000, idleMs: 50 });
  const answers: string[] = [];
  let statements = 0;
  const pipeline: PagePipeline = {
    depth,
    pacing: eager,
    line: (statement) => {
      const i = statements++;
      const fault = faults[i] ?? "none";
      // Lost before Postgres ran it: nothing written; the statements behind it run.
      if (fault === "lost") {
        answers[i] = "lost";
        return Promise.reject(new Error("connection lost"));
      }
      return line.use(async (db) => {
        const answer = await statement(db);
        answers[i] = (answer as PageOutcome).status;
        // Committed, but its answer never came (the line then drops its connection).
        if (fault === "answerLost") throw new Error("answer lost");
        return answer;
      });
    },
  };
  return { pipeline, answers };
}

/** The book read `sizes[i]` entries at the i-th read (over RPC), `before(i)` awaited first. */
function pagedBy(
  book: OutboxSource,
  sizes: readonly number[],
  before?: (read: number) => Promise<void>,
): OutboxSource {
  let reads = 0;
  return {
    readOutbox: async (afterSeq) => {
      const read = reads++;
      await before?.(read);
      return book.readOutbox(afterSeq, sizes[read % sizes.length]!);
    },
    ackOutbox: (uptoSeq, epoch) => book.ackOutbox(uptoSeq, epoch),
    publishBalances: (updates) => book.publishBalances(updates),
  };
}

/** A trade naming an order Postgres never had: the planner quarantines it. */
const ghostTrade = (market: string, seller: string, buyer: string, n: number) => {
  const ghost = crypto.randomUUID();
  return {
    kind: "trade" as const,
    ts: Date.now(),
    tradeId: `${market}:ghost-${n}`,
    market,
    price: "50000.00",
    quantity: "0.01000",
    priceMinor: "50000000000",
    quantityMinor: "1000000",
    takerSide: "buy" as const,
    takerOrderId: ghost,
    takerUserId: buyer,
    makerOrderId: ghost,
    makerUserId: seller,
    makerFeeBps: 10,
    takerFeeBps: 20,
  };
};

/**
 * `fills` pairs (0.01 BTC at 50,000, seller the maker at 0.1 %, buyer the taker at 0.2 %) each
 * settled exactly once, the ghosts quarantined, nothing left in the outbox, the cursor at its end.
 */
async function expectSettledOnce(
  db: Database,
  setup: Awaited<ReturnType<typeof heldMarket>>,
  fills: number,
  ghostSeqs: number[],
) {
  const { market, seller, buyer, book } = setup;
  const n = BigInt(fills);
  expect(await balanceOf(seller, "USDT")).toEqual({ available: 499_500_000n * n, locked: 0n });
  expect(await balanceOf(seller, "BTC")).toEqual({ available: 10_000_000n - 1_000_000n * n, locked: 0n });
  expect(await balanceOf(buyer, "USDT")).toEqual({
    available: 10_000_000_000n - 500_000_000n * n,
    locked: 0n,
  });
  expect(await balanceOf(buyer, "BTC")).toEqual({ available: 998_000n * n, locked: 0n });
  expect(await db.select().from(trades).where(eq(trades.market, market))).toHaveLength(fills);
  const held = await db.select().from(settlementQuarantine).where(eq(settlementQuarantine.market, market));
  expect(held.map((q) => Number(q.seq)).sort((a, b) => a - b)).toEqual(ghostSeqs);
  const read = await book.readOutbox(0, 10);
  expect(read.entries).toEqual([]);
  const [cursor] = await db.select().from(settlementCursors).where(eq(settlementCursors.market, market));
  expect(cursor!.lastSeq).toBe(read.lastSeq);
}

describe("settlement pages pipelined on one connection", () => {
  it("a page left to the planner (an entry quarantined): the page behind it is a gap, then settled once", async () => {
    await withDatabase(env, async (db) => {
      const setup = await heldMarket(db);
      const { market, seller, buyer, order, rules, book } = setup;
      await matchPair(order, seller, buyer);
      const ghosts = await injectOutbox(market, [ghostTrade(market, seller, buyer, 1)]);
      await matchPair(order, seller, buyer);
      await matchPair(order, seller, buyer);
      const { pipeline, answers } = pipelineOn();
      const result = await settleMarket(db, pagedBy(book, [3]), rules, { pipeline });
      // The ghost's page fell back while the one behind it was out: refused, read again after.
      const fellBack = answers.indexOf("fallback");
      expect(fellBack).toBeGreaterThanOrEqual(0);
      expect(answers[fellBack + 1]).toBe("gap");
      expect(result).toMatchObject({ trades: 3, quarantined: 1 });
      await expectSettledOnce(db, setup, 3, ghosts);
    });
  });

  it("a statement lost before it ran: the call fails, the page behind it is a gap, the next call settles everything once", async () => {
    await withDatabase(env, async (db) => {
      const setup = await heldMarket(db);
      const { seller, buyer, order, rules, book } = setup;
      for (let i = 0; i < 3; i++) await matchPair(order, seller, buyer);
      const { pipeline, answers } = pipelineOn(["none", "lost"]);
      await expect(settleMarket(db, pagedBy(book, [3]), rules, { pipeline })).rejects.toThrow(
        "connection lost",
      );
      expect(answers.slice(0, 3)).toEqual(["ok", "lost", "gap"]);
      await settleMarket(db, pagedBy(book, [3]), rules, { pipeline });
      await expectSettledOnce(db, setup, 3, []);
    });
  });

  it("the cursor held by another settler: every page out is busy or a gap, nothing settles until it is free", async () => {
    await withDatabase(env, async (db) => {
      const setup = await heldMarket(db);
      const { market, seller, buyer, order, rules, book } = setup;
      for (let i = 0; i < 2; i++) await matchPair(order, seller, buyer);
      await settleMarket(db, pagedBy(book, [1]), rules, { maxBatches: 1 }); // the cursor row exists
      const { pipeline, answers } = pipelineOn();
      await withDatabase(env, (other) =>
        other.transaction(async (tx) => {
          await tx.execute(sql`select 1 from settlement_cursors where market = ${market} for update`);
          const held = await settleMarket(db, pagedBy(book, [2]), rules, { pipeline });
          expect(held).toMatchObject({ batches: 0, trades: 0 });
        }),
      );
      expect(answers).toEqual(["busy", "busy"]);
      await settleMarket(db, pagedBy(book, [2]), rules, { pipeline });
      await expectSettledOnce(db, setup, 2, []);
    });
  });

  it("settles every entry exactly once, in order, whatever fails and whoever else settles meanwhile", async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          fills: fc.integer({ min: 1, max: 4 }),
          /** Before which fill a ghost trade goes (quarantined). */
          ghosts: fc.uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }),
          sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 }),
          faults: fc.array(fc.constantFrom<Fault>("none", "none", "none", "lost", "answerLost"), {
            maxLength: 10,
          }),
          /** The read before which another settler (as the cron: one batch of two entries) settles. */
          rival: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
          depth: fc.integer({ min: 2, max: 3 }),
        }),
        async ({ fills, ghosts, sizes, faults, rival, depth }) => {
          await withDatabase(env, async (db) => {
            const setup = await heldMarket(db);
            const { market, seller, buyer, order, rules, book } = setup;
            const ghostSeqs: number[] = [];
            for (let i = 0; i < fills; i++) {
              if (ghosts.includes(i))
                ghostSeqs.push(...(await injectOutbox(market, [ghostTrade(market, seller, buyer, i)])));
              await matchPair(order, seller, buyer);
            }
            const { pipeline, answers } = pipelineOn(faults, depth);
            const source = pagedBy(book, sizes, async (read) => {
              if (read === rival)
                await settleMarket(db, pagedBy(book, [2]), rules, { maxBatches: 1, wait: true });
            });
            for (let attempt = 0; attempt < 20; attempt++) {
              try {
                await settleMarket(db, source, rules, { pipeline });
              } catch {
                // A fault: the next call starts from the cursor in Postgres.
              }
              if ((await book.readOutbox(0, 1)).entries.length === 0) break;
            }
            for (const a of answers) if (a) seen.add(a);
            await expectSettledOnce(db, setup, fills, ghostSeqs);
          });
        },
      ),
      { numRuns: 25 },
    );
    // The runs met pages refused behind one that did not settle.
    expect(seen).toContain("gap");
  });
});
