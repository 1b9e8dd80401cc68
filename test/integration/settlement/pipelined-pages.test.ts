import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";
import { withDatabase } from "../../../src/db/client";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import type { PagePipeline } from "../../../src/domain/settlement/sent-pages";
import type { PageOutcome } from "../../../src/domain/settlement/settle-page";
import {
  expectSettledOnce,
  ghostTrade,
  heldMarket,
  injectOutbox,
  marketWithGhosts,
  matchPair,
} from "../trading/settlement-helpers";
import { eagerPacing } from "./eager-pacing";

/**
 * Pages pipelined on one connection (docs/decisions/0027): a page sent before the one ahead of it
 * is answered must never settle when that one did not (its entries would be skipped for good).
 * Against Postgres and the market object, with faults where the settler meets them: a page left
 * to the planner (an entry quarantined), a statement lost before Postgres ran it, an answer lost
 * after it committed, the cursor held by another settler, another settler settling meanwhile.
 */

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
    pacing: eagerPacing,
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

  it("one call runs on while fills keep coming (past what were round boundaries), a page left to the planner midway: each fill once", async () => {
    await withDatabase(env, async (db) => {
      const setup = await heldMarket(db);
      const { market, seller, buyer, order, rules, book } = setup;
      await matchPair(order, seller, buyer);
      const ghostSeqs: number[] = [];
      const { pipeline, answers } = pipelineOn();
      // One entry a page; fills and a ghost trade (the planner quarantines it) arrive during the call.
      const source = pagedBy(book, [1], async (read) => {
        if (read === 2 || read === 9 || read === 16) await matchPair(order, seller, buyer);
        if (read === 12)
          ghostSeqs.push(...(await injectOutbox(market, [ghostTrade(market, seller, buyer, 1)])));
      });
      const result = await settleMarket(db, source, rules, { pipeline });
      expect(result.batches).toBeGreaterThan(10);
      expect(result).toMatchObject({ trades: 4, quarantined: 1 });
      expect(answers).toContain("fallback");
      await expectSettledOnce(db, setup, 4, ghostSeqs);
    });
  });

  it("sends nothing once its time is up: the pages out are answered, the next call settles the rest once", async () => {
    await withDatabase(env, async (db) => {
      const setup = await heldMarket(db);
      const { seller, buyer, order, rules, book } = setup;
      for (let i = 0; i < 3; i++) await matchPair(order, seller, buyer);
      const { pipeline, answers } = pipelineOn();
      const sendUntil = Date.now() + 500;
      // The fourth read lasts past the call's time: its page is the last one sent.
      const source = pagedBy(book, [1], async (read) => {
        if (read === 3) await new Promise((resolve) => setTimeout(resolve, sendUntil + 50 - Date.now()));
      });
      const result = await settleMarket(db, source, rules, {
        pipeline,
        sending: () => Date.now() < sendUntil,
      });
      expect(answers).toEqual(["ok", "ok", "ok", "ok"]);
      expect(result.batches).toBe(4);
      expect((await book.readOutbox(0, 100)).entries.length).toBeGreaterThan(0);
      await settleMarket(db, pagedBy(book, [2]), rules, { pipeline });
      await expectSettledOnce(db, setup, 3, []);
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
            const setup = await marketWithGhosts(db, fills, ghosts);
            const { rules, book, ghostSeqs } = setup;
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
