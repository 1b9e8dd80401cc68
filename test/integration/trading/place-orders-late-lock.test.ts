import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { lockStatement, type LockAnswer } from "../../../durable-objects/market/funds-locker";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { fund } from "../wallets/fixtures";
import { createMarket } from "./helpers";
import {
  backendPid,
  balancesOf,
  credit,
  debit,
  lateLockAround,
  lockFirstAfter,
  noNegative,
  one,
  otherFlush,
  unversioned,
  usersWith,
  waitsFor,
} from "./late-lock-world";
import {
  expectSameLocks,
  expectWrittenInFlushOrder,
  onRandomFlushes,
  placeOrders,
  placeOrders0033,
} from "./place-orders-world";

/**
 * 0034's `place_orders`, which locks the balance rows last (docs/decisions/0031-place-orders-late-lock.md),
 * against 0033's, which locks them first. Alone, random mixed flushes give the same outcome per
 * placement and leave the same rows (one transaction, rolled back). Under a concurrent writer
 * that commits while the new call waits for its late lock, the new call's answer and the
 * balances it leaves are what 0033 gives run after that writer: the call redoes itself
 * lock-first when its decision no longer holds, never leaves a negative balance, never fails.
 */

describe("place_orders (0034, late lock) against 0033", () => {
  it("decides and writes as 0033 on random mixed flushes", async () => {
    await onRandomFlushes(placeOrders0033, placeOrders, expectSameLocks);
  }, 120_000);

  it("writes the orders and the audit rows in the flush's order", () =>
    expectWrittenInFlushOrder(placeOrders));
});

describe("place_orders (0034) under a writer that commits before its late lock", () => {
  const cases: {
    what: string;
    setup: (
      users: string[],
      markets: string[],
    ) => { writer: (db: DbExecutor) => Promise<unknown>; flush: PlacementFunding[] };
  }[] = [
    {
      // Decided from 100: both fit; the debit leaves 40, which funds one.
      what: "a withdrawal-like debit that leaves funds for only some of the flush's locks",
      setup: ([u], [m]) => ({
        writer: debit(u!, "USDT", 60n),
        flush: [one(u!, "USDT", "30", m!), one(u!, "USDT", "30", m!), one(u!, "BTC", "10", m!)],
      }),
    },
    {
      // The same user's flush in another market locks 70 of its 100 first.
      what: "another market's flush of the same user locking the same balance row",
      setup: ([u, v], [m, other]) => ({
        writer: otherFlush([one(u!, "USDT", "70", other!), one(v!, "USDT", "5", other!)]),
        flush: [one(v!, "USDT", "20", m!), one(u!, "USDT", "20", m!), one(u!, "USDT", "20", m!)],
      }),
    },
    {
      // Decided from 100: the second 60 refused; the credit would fund it.
      what: "a credit to a row that refused a placement for want of funds",
      setup: ([u], [m]) => ({
        writer: credit(u!, "USDT", 50n),
        flush: [one(u!, "USDT", "60", m!), one(u!, "USDT", "60", m!)],
      }),
    },
    {
      // Two markets' flushes of one user with one client_order_id, on different balance rows:
      // the call's insert waits for the other flush, which commits first.
      what: "another market's flush of the same user with the same client_order_id",
      setup: ([u], [m, other]) => ({
        writer: otherFlush([one(u!, "BTC", "1", other!, "same-coid")]),
        flush: [one(u!, "USDT", "10", m!, "same-coid"), one(u!, "USDT", "10", m!, "other-coid")],
      }),
    },
  ];

  for (const { what, setup } of cases) {
    it(`answers as 0033 run after it: ${what}`, async () => {
      const users = await usersWith(2, 100n);
      const { writer, flush } = setup(users, [await createMarket(), await createMarket()]);
      const expected = await lockFirstAfter(writer, flush, (tx) => balancesOf(tx, users));
      const seen = await lateLockAround(writer, flush, users);
      // The call had decided and written its orders before it waited: the late lock.
      expect(seen.wroteBeforeWaiting).toBe(true);
      expect(unversioned(seen.answer)).toEqual(unversioned(expected.answer));
      expect(seen.balances).toEqual(expected.after);
      noNegative(seen.balances);
    }, 30_000);
  }
});

describe("place_orders (0034): a lock-first redo and another market's optimistic call over one client_order_id", () => {
  // review19's interleaving: W debits u's USDT row and holds it; B (X 40, Y 50 of u, after
  // 1,500 placements of w) decides from 100, inserts X and Y and waits for the row at its late
  // lock; A (X 5 of u, then 3,000 of v) waits for B's X. W commits: B's update breaks the CHECK
  // (80 − 90), B is redone lock-first: it locks the row and inserts X, which waits for A's X,
  // while A waits for the row at its late lock. Postgres fails one of the two (40P01); neither
  // call may fail. The victim is Postgres' choice: three rounds.
  for (let round = 1; round <= 3; round++) {
    it(`both calls answer, one X is placed and no balance is negative (round ${round})`, async () => {
      const [u, v, w] = await usersWith(3, 100n);
      // One minor unit a placement (balances are whole minor units; reconciliation reads them so).
      await withDatabase(env, async (db) => {
        await fund(db, v!, "BTC", 3000n);
        await fund(db, w!, "BTC", 1500n);
      });
      const [m, other] = [await createMarket(), await createMarket()];
      const flushB = Array.from({ length: 1500 }, () => one(w!, "BTC", "1", other!));
      flushB.push(one(u!, "USDT", "40", other!, "x-coid"), one(u!, "USDT", "50", other!, "y-coid"));
      const flushA = [one(u!, "USDT", "5", m!, "x-coid")];
      for (let i = 0; i < 3000; i++) flushA.push(one(v!, "BTC", "1", m!));

      const pids = { a: 0, b: 0 };
      const call = (flush: PlacementFunding[], side: "a" | "b") =>
        withDatabase(env, (db) =>
          db.transaction(async (c) => {
            pids[side] = await backendPid(c);
            return (await c.execute<{ r: LockAnswer }>(lockStatement(flush))).rows[0]!.r;
          }),
        ).then(
          (answer) => ({ answer }),
          (err: unknown) => ({ error: String((err as { cause?: unknown }).cause ?? err) }),
        );
      const started = async (side: "a" | "b") => {
        while (pids[side] === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        return pids[side];
      };
      let callA: ReturnType<typeof call> | undefined;
      let callB: ReturnType<typeof call> | undefined;
      await withDatabase(env, (db) =>
        db.transaction(async (tx) => {
          await debit(u!, "USDT", 20n)(tx);
          const writer = await backendPid(tx);
          callB = call(flushB, "b");
          await waitsFor(await started("b"), writer);
          callA = call(flushA, "a");
          await waitsFor(await started("a"), pids.b);
        }),
      );
      const [b, a] = await Promise.all([callB!, callA!]);
      expect(b).toHaveProperty("answer");
      expect(a).toHaveProperty("answer");
      const placed = await withDatabase(env, (db) =>
        db.execute<{ n: number }>(sql`select count(*)::int as n from orders
          where user_id = ${u!}::uuid and client_order_id = 'x-coid'`),
      );
      expect(placed.rows[0]!.n).toBe(1);
      noNegative(await withDatabase(env, (db) => balancesOf(db, [u!, v!, w!])));
    }, 60_000);
  }
});
