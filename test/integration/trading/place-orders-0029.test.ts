import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { LockAnswer } from "../../../durable-objects/market/funds-locker";
import { withDatabase } from "../../../src/db/client";
import { balances } from "../../../src/db/schema";
import { newOrderId } from "../../../src/domain/market/order-id";
import { balanceOf, trader } from "./helpers";
import {
  expectSameFlush,
  onRandomFlushes,
  placement,
  placeOrders,
  placeOrders0027,
} from "./place-orders-world";

/**
 * 0029's `place_orders` (0027's arguments and answer, replaced in place; the balance rows locked
 * last) against 0027's, loaded as `pg_temp.place_orders_0027`: random mixed flushes give the same
 * answer and leave the same rows (place-orders-0027.test.ts's malformed calls and fence run
 * against 0029's too). And a balance row moved by another transaction between the call's read
 * and its lock: the call decides on the row as that transaction left it, as 0027 (which waited
 * for it before reading) did.
 */

/** The backends `pid` blocks (waiting on a lock it holds). */
async function blockedBy(pid: number): Promise<number> {
  const { rows } = await withDatabase(env, (db) =>
    db.execute<{ n: number }>(
      sql`select count(*)::int as n from pg_stat_activity where ${pid}::int = any(pg_blocking_pids(pid))`,
    ),
  );
  return rows[0]!.n;
}

/**
 * A lock of 5 USDT by a trader with 10 USDT available, while another transaction sets that
 * balance row's available to `available`, committing only once the call waits for it.
 */
async function lockWhileMoved(available: bigint) {
  const t = await trader({ USDT: "10" });
  const id = newOrderId();
  let placing: Promise<LockAnswer> | undefined;
  await withDatabase(env, (db) =>
    db.transaction(async (tx) => {
      const { rows } = await tx.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`);
      await tx
        .update(balances)
        .set({ available })
        .where(and(eq(balances.userId, t.id), eq(balances.asset, "USDT")));
      placing = withDatabase(env, async (db2) => {
        const { rows: r } = await db2.execute<{ r: LockAnswer }>(
          placeOrders([placement(t.id, "USDT", "5000000", id, null, false)]),
        );
        return r[0]!.r;
      });
      // The call read the row (10 USDT, this transaction's change not committed) and wrote its
      // order; it now waits for the row's lock.
      for (let tries = 0; (await blockedBy(rows[0]!.pid)) === 0; tries++) {
        if (tries > 200) throw new Error("the call never waited for the balance row");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }),
  );
  const answer = await placing!;
  const { rows: orders } = await withDatabase(env, (db) =>
    db.execute<{ n: number }>(sql`select count(*)::int as n from orders where id = ${id}`),
  );
  return { answer, orders: orders[0]!.n, balance: await balanceOf(t.id, "USDT") };
}

describe("place_orders (0029) against 0027", () => {
  it("decides, writes and answers as 0027 on random mixed flushes", async () => {
    await onRandomFlushes(placeOrders0027, placeOrders, expectSameFlush);
  }, 120_000);

  it("refuses a lock whose balance row fell below it before the row was locked, writing nothing", async () => {
    const { answer, orders, balance } = await lockWhileMoved(3_000_000n);
    expect(answer.o).toEqual([-1]); // insufficient_funds
    expect(answer.b).toEqual([]);
    expect(orders).toBe(0);
    expect(balance).toEqual({ available: 3_000_000n, locked: 0n });
  }, 30_000);

  it("locks from the row as moved when it still covers the lock", async () => {
    const { answer, orders, balance } = await lockWhileMoved(6_000_000n);
    expect(answer.o).toEqual([0]);
    expect(answer.b.map(([available, locked]) => [available, locked])).toEqual([["1000000", "5000000"]]);
    expect(orders).toBe(1);
    expect(balance).toEqual({ available: 1_000_000n, locked: 5_000_000n });
  }, 30_000);
});
