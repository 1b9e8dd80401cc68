import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";
import { withDatabase, type Database } from "../../../src/db/client";
import { settlementCursors, settlementQuarantine, trades } from "../../../src/db/schema";
import { releaseFunds } from "../../../src/domain/ledger/ledger";
import { settleMarket, type OutboxSource } from "../../../src/domain/settlement/settle-market";
import type { PagePipeline } from "../../../src/domain/settlement/sent-pages";
import type { PageOutcome } from "../../../src/domain/settlement/settle-page";
import { balanceOf } from "../trading/helpers";
import { expectPairsSettled, heldMarket, matchPair } from "../trading/settlement-helpers";
import { eagerPacing } from "./eager-pacing";
import { notedAcks } from "./noted-acks";
import { createTestUser, fund } from "../wallets/fixtures";

/**
 * Pages pipelined on the settler's line (docs/decisions/0025) meeting Postgres's own faults while
 * the page behind is already written: the running page cancelled (57014: Postgres answers an
 * error and keeps the connection, so the page behind it runs), its backend terminated (the
 * connection lost with both pages on it), and a page Postgres refuses on a balance's CHECK (23514,
 * raised inside settle_page: left to the planner through the error, not a `fallback` answer). The page behind must never settle past the one that did
 * not, nothing may be acknowledged that Postgres did not answer as committed, and the next call
 * settles every fill once.
 */

const PAIRS = 3;

/**
 * The line, its backend's pid, and a pipeline on it whose answers are noted; `full` says whether
 * `depth` pages have gone out on it.
 */
async function pipelined(depth = 2) {
  const line = new LockLine(env, { answerMs: 10_000, idleMs: 1_000 });
  const { rows } = await line.use((db) => db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`));
  const answers: string[] = [];
  let sent = 0;
  const pipeline: PagePipeline = {
    depth,
    pacing: eagerPacing,
    line: (statement) =>
      line.use(async (db) => {
        sent++;
        try {
          const answer = await statement(db);
          answers.push((answer as PageOutcome).status);
          return answer;
        } catch (err) {
          answers.push("error");
          throw err;
        }
      }),
  };
  return { pipeline, answers, pid: rows[0]!.pid, full: () => sent >= depth };
}

/**
 * Until `pid` waits on a lock (its statement is in Postgres, held) and every page is out behind
 * it: on a loaded machine the pages behind can still be on their way (read from the book) when
 * the first already waits.
 */
async function untilWaiting(db: Database, pid: number, full: () => boolean) {
  for (let i = 0; i < 200; i++) {
    const { rows } = await db.execute<{ waiting: boolean }>(
      sql`select coalesce(bool_or(wait_event_type = 'Lock'), false) as waiting from pg_stat_activity where pid = ${pid}`,
    );
    if (rows[0]!.waiting && full()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`backend ${pid} never waited on a lock with every page out`);
}

/** The market's settled trades and cursor, and what its outbox still holds. */
async function settledState(db: Database, market: string, book: OutboxSource) {
  const settled = await db.select({ seq: trades.seq }).from(trades).where(eq(trades.market, market));
  const [cursor] = await db.select().from(settlementCursors).where(eq(settlementCursors.market, market));
  return {
    trades: settled.map((t) => Number(t.seq)).sort((a, b) => a - b),
    cursor: cursor ? Number(cursor.lastSeq) : null,
    outbox: (await book.readOutbox(0, 1_000)).entries.map((e) => e.seq),
  };
}

async function world(db: Database) {
  const setup = await heldMarket(db);
  const { seller, buyer, order, book } = setup;
  for (let i = 0; i < PAIRS; i++) await matchPair(order, seller, buyer);
  const { entries } = await book.readOutbox(0, 1_000);
  // One pair's entries a page: each page holds one fill.
  const size = entries.length / PAIRS;
  expect(Number.isInteger(size)).toBe(true);
  const pages = Array.from({ length: PAIRS }, (_, i) => entries.slice(i * size, (i + 1) * size));
  for (const page of pages) expect(page.filter((e) => e.kind === "trade")).toHaveLength(1);
  return { ...setup, size, pages, all: entries.map((e) => e.seq) };
}

/**
 * Settles while another transaction holds `page`'s order rows (settle_page locks the orders a page
 * names): once the line's backend waits on them, `fault` is done to it. Answers the call's error.
 */
const settleFaulted = (
  db: Database,
  page: { orderId?: string; takerOrderId?: string; makerOrderId?: string }[],
  { pid, full }: { pid: number; full: () => boolean },
  fault: "pg_cancel_backend" | "pg_terminate_backend",
  settle: () => Promise<unknown>,
) =>
  withDatabase(env, (other) =>
    other.transaction(async (tx) => {
      const ids = [...new Set(page.flatMap((e) => [e.orderId, e.takerOrderId, e.makerOrderId]))].filter(
        (id) => id !== undefined,
      );
      await tx.execute(
        sql`select 1 from orders where id = any(${`{${ids.join(",")}}`}::uuid[]) order by id for update`,
      );
      const running = settle().then(
        () => null,
        (err: unknown) => err,
      );
      await untilWaiting(db, pid, full);
      await db.execute(sql`select ${sql.raw(fault)}(${pid}::int)`);
      // The pages behind need no lock held here to be refused: the call ends while they are held.
      return running;
    }),
  );

/** The SQLSTATE somewhere in the error's causes (drizzle wraps the driver's error). */
function sqlStateOf(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

describe("pipelined settlement pages when Postgres cancels or loses the page ahead", () => {
  it("the first page cancelled while it waits (57014): the page behind is a gap, nothing acknowledged, the next call settles once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book, size, pages, all } = await world(db);
      const { pipeline, answers, ...backend } = await pipelined();
      const first = notedAcks(book, size);
      const failed = await settleFaulted(db, pages[0]!, backend, "pg_cancel_backend", () =>
        settleMarket(db, first.source, rules, { pipeline }),
      );
      expect(sqlStateOf(failed)).toBe("57014"); // query_canceled
      expect(answers).toEqual(["error", "gap"]);
      expect(first.acks).toEqual([]);
      expect(await settledState(db, market, book)).toEqual({ trades: [], cursor: 0, outbox: all });

      // The line kept its connection (Postgres answered); the next call settles every page once.
      const next = notedAcks(book, size);
      expect(await settleMarket(db, next.source, rules, { pipeline })).toMatchObject({
        trades: PAIRS,
        lastSeq: all[all.length - 1],
      });
      const tradeSeqs = pages.map((p) => p.find((e) => e.kind === "trade")!.seq);
      expect(await settledState(db, market, book)).toEqual({
        trades: tradeSeqs,
        cursor: all[all.length - 1],
        outbox: [],
      });
      await expectPairsSettled(seller, buyer, PAIRS);
    });
  });

  it("the second page cancelled: the first, committed, is acknowledged once; the third is a gap; the next call settles the rest once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book, size, pages, all } = await world(db);
      const { pipeline, answers, ...backend } = await pipelined(3);
      const first = notedAcks(book, size);
      const failed = await settleFaulted(db, pages[1]!, backend, "pg_cancel_backend", () =>
        settleMarket(db, first.source, rules, { pipeline }),
      );
      expect(sqlStateOf(failed)).toBe("57014"); // query_canceled
      expect(answers).toEqual(["ok", "error", "gap"]);
      const firstTop = pages[0]![size - 1]!.seq;
      expect(first.acks).toEqual([firstTop]);
      const firstTrade = pages[0]!.find((e) => e.kind === "trade")!.seq;
      expect(await settledState(db, market, book)).toEqual({
        trades: [firstTrade],
        cursor: firstTop,
        outbox: all.filter((s) => s > firstTop),
      });

      const next = notedAcks(book, size);
      await settleMarket(db, next.source, rules, { pipeline });
      expect((await settledState(db, market, book)).outbox).toEqual([]);
      expect((await settledState(db, market, book)).trades).toHaveLength(PAIRS);
      await expectPairsSettled(seller, buyer, PAIRS);
    });
  });

  it("the line's backend terminated with two pages on it: both fail, nothing acknowledged, a new connection settles once", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, rules, book, size, pages, all } = await world(db);
      const { pipeline, answers, ...backend } = await pipelined();
      const first = notedAcks(book, size);
      const failed = await settleFaulted(db, pages[0]!, backend, "pg_terminate_backend", () =>
        settleMarket(db, first.source, rules, { pipeline }),
      );
      expect(failed).toBeInstanceOf(Error);
      expect(answers).toEqual(["error", "error"]);
      expect(first.acks).toEqual([]);
      // Neither page ran to its end: not even the market's cursor row was created.
      expect(await settledState(db, market, book)).toEqual({ trades: [], cursor: null, outbox: all });

      const next = notedAcks(book, size);
      await settleMarket(db, next.source, rules, { pipeline });
      const state = await settledState(db, market, book);
      expect(state).toMatchObject({ cursor: all[all.length - 1], outbox: [] });
      expect(state.trades).toHaveLength(PAIRS);
      await expectPairsSettled(seller, buyer, PAIRS);
    });
  });

  it("the middle page refused by a balance's CHECK (23514): the page behind is a gap, the planner quarantines only that page's culprits", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      const drifted = await createTestUser();
      await fund(db, drifted, "USDT", 10_000_000_000n);
      for (const who of [buyer, drifted, buyer]) await matchPair(order, seller, who);
      const { entries } = await book.readOutbox(0, 1_000);
      const size = entries.length / PAIRS;
      const pages = Array.from({ length: PAIRS }, (_, i) => entries.slice(i * size, (i + 1) * size));
      // The middle fill's buyer has lost its lock in Postgres (a drift): its settlement would
      // take the balance below zero. Released through the ledger, so the balance still equals
      // its postings: the suites' ledger reconciliations, running beside this file, stay clean.
      const { locked } = await balanceOf(drifted, "USDT");
      await releaseFunds(db, {
        userId: drifted,
        asset: "USDT",
        amount: locked,
        type: "test.release",
        reference: crypto.randomUUID(),
      });
      const { pipeline, answers } = await pipelined(3);
      const result = await settleMarket(db, notedAcks(book, size).source, rules, { pipeline });
      // Refused in Postgres, the page behind it refused as a gap and sent again after the planner.
      expect(answers).toEqual(["ok", "error", "gap", "ok"]);
      expect(result).toMatchObject({ trades: 2 });
      const tradeOf = (page: typeof entries) => page.find((e) => e.kind === "trade")!.seq;
      const middle = new Set(pages[1]!.map((e) => e.seq));
      const held = await db
        .select()
        .from(settlementQuarantine)
        .where(eq(settlementQuarantine.market, market));
      const heldSeqs = held.map((q) => Number(q.seq));
      expect(heldSeqs).toContain(tradeOf(pages[1]!));
      for (const seq of heldSeqs) expect(middle.has(seq)).toBe(true);
      expect(await settledState(db, market, book)).toEqual({
        trades: [tradeOf(pages[0]!), tradeOf(pages[2]!)],
        cursor: entries[entries.length - 1]!.seq,
        outbox: [],
      });
      // The two other fills settled exactly once each.
      expect(await balanceOf(buyer, "USDT")).toEqual({
        available: 10_000_000_000n - 1_000_000_000n,
        locked: 0n,
      });
      expect(await balanceOf(buyer, "BTC")).toEqual({ available: 2n * 998_000n, locked: 0n });
      expect(await balanceOf(seller, "USDT")).toEqual({ available: 2n * 499_500_000n, locked: 0n });
    });
  });
});
