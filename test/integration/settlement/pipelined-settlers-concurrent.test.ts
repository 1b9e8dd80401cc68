import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";
import { withDatabase } from "../../../src/db/client";
import { settlementCursors } from "../../../src/db/schema";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import type { PagePipeline } from "../../../src/domain/settlement/sent-pages";
import { expectSettledOnce, marketWithGhosts } from "../trading/settlement-helpers";
import { eagerPacing } from "./eager-pacing";

/**
 * Two pipelined settlers of one market at once, each on its own line (what the object's settler
 * and the round it abandoned after ROUND_TIMEOUT_MS are: the abandoned one keeps sending on its
 * line), each reading and acknowledging the same outbox, with pages left to the planner (a trade
 * of an order Postgres does not have: quarantined) among them. Whatever the page sizes, depths,
 * waits and interleaving, every fill settles once, every ghost is quarantined once, and nothing is
 * acknowledged that the cursor does not cover.
 */

interface Settler {
  sizes: number[];
  depth: number;
  wait: boolean;
}

describe("two pipelined settlers of one market at once", () => {
  it("settle every fill once and acknowledge only what the cursor covers", async () => {
    const settler = fc.record({
      sizes: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      depth: fc.integer({ min: 1, max: 3 }),
      wait: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          fills: fc.integer({ min: 2, max: 5 }),
          ghosts: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 2 }),
          a: settler,
          b: settler,
        }),
        async ({ fills, ghosts, a, b }) => {
          await withDatabase(env, async (db) => {
            const setup = await marketWithGhosts(db, fills, ghosts);
            const { market, rules, book, ghostSeqs } = setup;
            /** Every acknowledgement, and the cursor in Postgres right after it was asked. */
            const acked: { upto: number; cursor: number }[] = [];
            const cursorNow = async () => {
              const [row] = await db
                .select()
                .from(settlementCursors)
                .where(eq(settlementCursors.market, market));
              return row ? Number(row.lastSeq) : 0;
            };
            const run = async ({ sizes, depth, wait }: Settler) => {
              const line = new LockLine(env, { answerMs: 10_000, idleMs: 50 });
              const pipeline: PagePipeline = { depth, pacing: eagerPacing, line: (s) => line.use(s) };
              let reads = 0;
              const source: OutboxSource = {
                readOutbox: (afterSeq) => book.readOutbox(afterSeq, sizes[reads++ % sizes.length]!),
                ackOutbox: async (uptoSeq, epoch) => {
                  acked.push({ upto: uptoSeq, cursor: await cursorNow() });
                  return book.ackOutbox(uptoSeq, epoch);
                },
                publishBalances: (updates) => book.publishBalances(updates),
              };
              for (let attempt = 0; attempt < 30; attempt++) {
                await settleMarket(db, source, rules, { pipeline, wait });
                if ((await book.readOutbox(0, 1)).entries.length === 0) return;
                await new Promise((resolve) => setTimeout(resolve, 5));
              }
            };
            await Promise.all([run(a), run(b)]);

            for (const { upto, cursor } of acked) expect(upto).toBeLessThanOrEqual(cursor);
            await expectSettledOnce(db, setup, fills, ghostSeqs);
          });
        },
      ),
      { numRuns: 20 },
    );
  }, 120_000);
});
