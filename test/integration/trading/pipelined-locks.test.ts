import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { OrderIntake } from "../../../durable-objects/market/order-intake";
import type { OrderBook } from "../../../durable-objects/order-book";
import { withDatabase } from "../../../src/db/client";
import type { PlaceCommand } from "../../../src/domain/market/commands";
import { toBookRules } from "../../../src/domain/market/market-rules";
import { preparePlacement } from "../../../src/domain/market/placement";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import {
  configureOrderBook,
  loadMarketRules,
  orderBook,
} from "../../../src/services/trading/market-directory";
import { balanceOf, createMarket, settle, trader, USDT } from "./helpers";
import { principal } from "./settlement-helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const epochOf = (market: string) =>
  withDatabase(env, async (db) => {
    const result = await db.execute<{ epoch: string }>(
      sql`select epoch::text from market_lock_fences where market = ${market}`,
    );
    return Number(result.rows[0]!.epoch);
  });

/** A market whose object is configured, a buyer with 1,000 USDT, others with 10,000, a bid each. */
async function lockingWorld() {
  const market = await createMarket();
  const buyer = await trader({ USDT: "1000" });
  const others = await trader({ USDT: "10000" });
  const rules = await withDatabase(env, (db) => loadMarketRules(db, market, true));
  await configureOrderBook(env, toBookRules(rules));
  const placement = (userId: string) =>
    preparePlacement(
      rules,
      principal(userId),
      { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.01" },
      SYSTEM_METADATA,
    ).command as PlaceCommand;
  return { market, buyer, others, placement };
}

describe("the market object's funds locks pipelined on its direct connection", () => {
  it("a connection lost with two locks out fails both groups, and the fence is raised before the next lock", async () => {
    const { market, buyer, others, placement } = await lockingWorld();

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holder: number | undefined;
    // Another connection holds the buyer's balance row: the first lock waits on it in Postgres,
    // the second is written behind it on the same connection.
    const holding = withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        await tx.execute(
          sql`select 1 from balances where user_id = ${buyer.id}::uuid and asset = 'USDT' for update`,
        );
        holder = (await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)).rows[0]!.pid;
        await released;
      }),
    );
    await expect.poll(() => holder).toBeDefined();

    let results: unknown[][] = [];
    let epoch = 0;
    await runInDurableObject(orderBook(env, market), async (instance: OrderBook) => {
      const intake = (instance as unknown as { intake: OrderIntake }).intake;
      const first = intake.submit([placement(buyer.id)]);
      const waiting = async () =>
        (
          await withDatabase(env, (db) =>
            db.execute<{ pid: number }>(
              sql`select pid from pg_stat_activity where ${holder}::int = any(pg_blocking_pids(pid))`,
            ),
          )
        ).rows[0]?.pid;
      await expect.poll(waiting, { timeout: 5_000 }).toBeDefined();
      const locker = await waiting();
      epoch = await epochOf(market); // the fence the first lock passed
      // 16 commands: enough to leave behind a lock out (order-intake.ts MIN_PIPELINED).
      const second = intake.submit(Array.from({ length: 16 }, () => placement(others.id)));
      await sleep(100); // its lock is written behind the first
      await withDatabase(env, (db) => db.execute(sql`select pg_terminate_backend(${locker}::int)`));
      results = await Promise.all([first, second]);
    });
    release();
    await holding;

    expect(results[0]).toEqual([expect.objectContaining({ ok: false, code: "FUNDS_UNAVAILABLE" })]);
    expect(results[1]).toHaveLength(16);
    for (const r of results[1]!) expect(r).toMatchObject({ ok: false, code: "FUNDS_UNAVAILABLE" });
    expect(await balanceOf(buyer.id, "USDT")).toEqual({ available: USDT("1000"), locked: 0n });
    expect(await balanceOf(others.id, "USDT")).toEqual({ available: USDT("10000"), locked: 0n });

    // The next lock leaves only after a raise of the fence, on a connection of its own.
    const next = await orderBook(env, market).placeBatch([placement(buyer.id)]);
    expect(next[0]).toMatchObject({ ok: true });
    expect(await epochOf(market)).toBe(epoch + 1);
    expect((await balanceOf(buyer.id, "USDT")).locked).toBe(USDT("500"));
  });

  it(
    "locks Postgres commits after the line gave them up (written behind a slow one) are found by the next raise and released",
    { timeout: 60_000 },
    async () => {
      const { market, buyer, others, placement } = await lockingWorld();
      // The buyer's order insert sleeps 11 s in Postgres (no lock: place_orders' lock_timeout would
      // answer with an error): the line's 10 s answer time drops the connection while Postgres runs on.
      await withDatabase(env, async (db) => {
        await db.execute(
          sql.raw(`create or replace function test_straggler_sleep() returns trigger language plpgsql as $$
        begin perform pg_sleep(11); return new; end $$`),
        );
        await db.execute(
          sql.raw(`create trigger test_straggler_sleep before insert on orders for each row
        when (new.user_id = '${buyer.id}'::uuid) execute function test_straggler_sleep()`),
        );
      });
      let results: unknown[][] = [];
      try {
        await runInDurableObject(orderBook(env, market), async (instance: OrderBook) => {
          const intake = (instance as unknown as { intake: OrderIntake }).intake;
          const first = intake.submit([placement(buyer.id)]);
          await sleep(300);
          const second = intake.submit(Array.from({ length: 16 }, () => placement(others.id)));
          // Both fail on the 10 s answer time; Postgres still runs the first, the second in its buffer.
          results = await Promise.all([first, second]);
        });
        await sleep(2_000); // Postgres ends the first (11 s) and reads what was written behind it
      } finally {
        await withDatabase(env, async (db) => {
          await db.execute(sql.raw(`drop trigger if exists test_straggler_sleep on orders`));
          await db.execute(sql.raw(`drop function if exists test_straggler_sleep()`));
        });
      }
      // Both groups were answered FUNDS_UNAVAILABLE, yet Postgres committed both locks after the
      // drop: the second had been written behind the first (before pipelining it never left the Client).
      const locked = async (userId: string) => (await balanceOf(userId, "USDT")).locked;
      expect(await locked(buyer.id)).toBe(USDT("500"));
      expect(await locked(others.id)).toBe(USDT("8000"));
      for (const r of results[0]!) expect(r).toMatchObject({ ok: false, code: "FUNDS_UNAVAILABLE" });
      for (const r of results[1]!) expect(r).toMatchObject({ ok: false, code: "FUNDS_UNAVAILABLE" });

      const next = await orderBook(env, market).placeBatch([placement(buyer.id)]);
      expect(next[0]).toMatchObject({ ok: true });
      await settle(market);
      await expect.poll(() => locked(others.id), { timeout: 15_000, interval: 250 }).toBe(0n);
      await expect.poll(() => locked(buyer.id), { timeout: 15_000, interval: 250 }).toBe(USDT("500"));
    },
  );
});
