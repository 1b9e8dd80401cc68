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
import { balanceOf, createMarket, trader, USDT } from "./helpers";
import { principal } from "./settlement-helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const epochOf = (market: string) =>
  withDatabase(env, async (db) => {
    const result = await db.execute<{ epoch: string }>(
      sql`select epoch::text from market_lock_fences where market = ${market}`,
    );
    return Number(result.rows[0]!.epoch);
  });

describe("the market object's funds locks pipelined on its direct connection", () => {
  it("a connection lost with two locks out fails both groups, and the fence is raised before the next lock", async () => {
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
});
