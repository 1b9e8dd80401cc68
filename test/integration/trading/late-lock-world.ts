import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { lockStatement, type LockAnswer } from "../../../durable-objects/market/funds-locker";
import type { FencePass } from "../../../durable-objects/market/lock-fence";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../../../src/domain/ledger/ledger";
import { newOrderId } from "../../../src/domain/market/order-id";
import { createTestUser, fund } from "../wallets/fixtures";
import { inRolledBackTransaction, load0033, placement, placeOrders0033 } from "./place-orders-world";

// What the late-lock tests (place-orders-late-lock*.test.ts) share: committed users, a writer on
// another connection that commits once 0034's `place_orders` waits for it, and 0033's answer
// when the writer commits first.

/** Committed users, each funded with `available` USDT and BTC (minor units) by a journal entry. */
export async function usersWith(n: number, available: bigint) {
  const ids = await Promise.all(Array.from({ length: n }, () => createTestUser()));
  await withDatabase(env, async (db) => {
    for (const id of ids) for (const asset of ["USDT", "BTC"]) await fund(db, id, asset, available);
  });
  return ids;
}

/** `f` with its rows on `market` (a test's own, not the shapes' BTC-USDT and ETH-USDT). */
export const onMarket = (f: PlacementFunding, market: string) =>
  ({ ...f, rows: f.rows.map((r) => ({ ...r, market })) }) as PlacementFunding;

/** One limit placement of `user` on `market`, a fresh one of the test's (the lock's asset decides the side). */
export const one = (
  user: string,
  asset: string,
  amount: string,
  market: string,
  coid: string | null = null,
) => onMarket(placement(user, asset, amount, newOrderId(), coid, false) as PlacementFunding, market);

export const balancesOf = (db: DbExecutor, users: string[]) =>
  db
    .execute<{ user_id: string; asset: string; available: string; locked: string }>(
      sql`select user_id, asset, available::text, locked::text from balances
        where user_id = any(${`{${users.join(",")}}`}::uuid[]) order by user_id, asset`,
    )
    .then((r) => r.rows);

export const backendPid = async (db: DbExecutor) =>
  (await db.execute<{ pid: number }>(sql`select pg_backend_pid() as pid`)).rows[0]!.pid;

/** An answer without its versions (posting ids, from a sequence). */
export const unversioned = (a: LockAnswer) => ({
  ...a,
  b: a.b.map(([available, locked]) => [available, locked]),
});

/**
 * What 0033 answers, and what `look` reads after it, when `writer` commits first and the flush
 * runs after it (in one transaction, rolled back).
 */
export async function lockFirstAfter<T>(
  writer: (db: DbExecutor) => Promise<unknown>,
  flush: PlacementFunding[],
  look: (db: DbExecutor) => Promise<T>,
  fence?: FencePass,
) {
  let seen: { answer: LockAnswer; after: T } | undefined;
  await inRolledBackTransaction(async (tx) => {
    await load0033(tx);
    await writer(tx);
    const { rows } = await tx.execute<{ r: LockAnswer }>(placeOrders0033(flush, fence));
    seen = { answer: rows[0]!.r, after: await look(tx) };
  });
  return seen!;
}

/**
 * The flush through the installed `place_orders` while `writer` runs uncommitted on another
 * connection; `writer` commits once the call waits for it (after `meanwhile`, given the call's
 * backend). Returns the call's answer, the balances after, and whether the call had written
 * rows when it waited (a transaction id: its orders inserted before its late lock); undefined
 * when it never waited (10 s).
 */
export async function lateLockAround(
  writer: (db: DbExecutor) => Promise<unknown>,
  flush: PlacementFunding[],
  users: string[],
  { fence, meanwhile }: { fence?: FencePass; meanwhile?: (call: number) => Promise<void> } = {},
) {
  let call: Promise<LockAnswer> | undefined;
  let wroteBeforeWaiting: boolean | undefined;
  await withDatabase(env, (db) =>
    db.transaction(async (tx) => {
      await writer(tx);
      const pid = await backendPid(tx);
      call = withDatabase(env, async (other) => {
        const { rows } = await other.execute<{ r: LockAnswer }>(lockStatement(flush, fence));
        return rows[0]!.r;
      });
      // Until the call waits for this transaction (10 s at most).
      for (let tries = 0; tries < 500 && wroteBeforeWaiting === undefined; tries++) {
        const { rows: waiting } = await withDatabase(env, (look) =>
          look.execute<{ pid: number; wrote: boolean }>(sql`select a.pid, a.backend_xid is not null as wrote
            from pg_stat_activity a where ${pid}::int = any(pg_blocking_pids(a.pid))`),
        );
        if (waiting.length > 0) {
          wroteBeforeWaiting = waiting[0]!.wrote;
          await meanwhile?.(waiting[0]!.pid);
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
  const answer = await call!;
  const balances = await withDatabase(env, (db) => balancesOf(db, users));
  return { answer, balances, wroteBeforeWaiting };
}

/** A withdrawal-like debit of a balance row (a journal entry: balances keep equal to postings). */
export const debit = (user: string, asset: string, amount: bigint) => (db: DbExecutor) =>
  postJournalEntry(db, {
    type: "test.withdrawal",
    reference: crypto.randomUUID(),
    postings: [
      { account: userAvailable(user), asset, amount: -amount },
      { account: EXTERNAL_DEPOSITS, asset, amount },
    ],
  });

/** A credit of a balance row (a deposit's). */
export const credit = (user: string, asset: string, amount: bigint) => (db: DbExecutor) =>
  fund(db, user, asset, amount);

/** Another market's flush through the installed `place_orders`. */
export const otherFlush = (flush: PlacementFunding[]) => (db: DbExecutor) => db.execute(lockStatement(flush));

export const noNegative = (balances: { available: string; locked: string }[]) => {
  for (const b of balances) {
    expect(Number(b.available)).toBeGreaterThanOrEqual(0);
    expect(Number(b.locked)).toBeGreaterThanOrEqual(0);
  }
};

/** Whether backend `waiter` waits for backend `blocker` now. */
export async function isWaitingFor(waiter: number, blocker: number) {
  const { rows } = await withDatabase(env, (look) =>
    look.execute<{ n: number }>(sql`select count(*)::int as n from pg_stat_activity a
      where a.pid = ${waiter}::int and ${blocker}::int = any(pg_blocking_pids(a.pid))`),
  );
  return rows[0]!.n > 0;
}

/** Until backend `waiter` waits for backend `blocker` (10 s at most). */
export async function waitsFor(waiter: number, blocker: number) {
  for (let tries = 0; tries < 500; tries++) {
    if (await isWaitingFor(waiter, blocker)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`backend ${waiter} never waited for ${blocker}`);
}

/** The backend that waits for backend `blocker`, once one does (10 s at most). */
export async function blockedBy(blocker: number) {
  for (let tries = 0; tries < 500; tries++) {
    const { rows } = await withDatabase(env, (look) =>
      look.execute<{ pid: number }>(sql`select a.pid from pg_stat_activity a
        where ${blocker}::int = any(pg_blocking_pids(a.pid))`),
    );
    if (rows.length > 0) return rows[0]!.pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no backend waited for ${blocker}`);
}
