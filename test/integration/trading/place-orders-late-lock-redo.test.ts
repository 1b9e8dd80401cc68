import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockOutcomes, lockStatement, type LockAnswer } from "../../../durable-objects/market/funds-locker";
import type { FencePass } from "../../../durable-objects/market/lock-fence";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import { createMarket } from "./helpers";
import {
  backendPid,
  balancesOf,
  blockedBy,
  credit,
  debit,
  isWaitingFor,
  lateLockAround,
  lockFirstAfter,
  noNegative,
  one,
  onMarket,
  otherFlush,
  unversioned,
  usersWith,
  waitsFor,
} from "./late-lock-world";
import { ASSETS, batchOf, KNOWN_COIDS, placement, rowsLeft, specArb, type World } from "./place-orders-world";

/**
 * 0034's `place_orders` through its redo (docs/decisions/0031-place-orders-late-lock.md): a writer
 * on another connection commits while the call waits for it, after the call decided from the
 * balances as they were, so that its decision no longer holds and the call rolls back to its
 * savepoint and redoes itself lock-first. Random flushes, each with a writer that forces the
 * redo: a debit that leaves a row short of the flush's locks on it (23514), a credit to a row
 * that refused a placement for want of funds (40001), another flush's order (in the test's second
 * market) of a placement's client_order_id, met only at the insert (23505). The call answers and writes what 0033 does
 * run after the writer; a fenced call holds its fence through the redo.
 */

/** What raise_lock_fence answers (migrations/0022): the new epoch, a mark, the orders above `after`. */
interface Raised {
  epoch: number;
  mark: number;
  orders: { order_id: string; user_id: string }[];
}
const raise = (db: DbExecutor, market: string, after: number | null) =>
  db
    .execute<{ r: Raised }>(sql`select raise_lock_fence(${market}, ${after}::bigint) as r`)
    .then((r) => r.rows[0]!.r);

/** Three committed users with 300 of each asset, and two committed orders of theirs (client ids k0, k1). */
async function committedWorld(market: string): Promise<World> {
  const users = await usersWith(3, 300n);
  const knownIds = [newOrderId(), newOrderId()];
  const known = knownIds.map((id, k) =>
    onMarket(placement(users[k]!, "USDT", "5", id, KNOWN_COIDS[k]!, false) as PlacementFunding, market),
  );
  await withDatabase(env, (db) => db.execute(lockStatement(known)));
  return { users, knownIds };
}

/** The rows without the times they were written at (the two runs are two transactions). */
const untimed = (rows: Awaited<ReturnType<typeof rowsLeft>>) => {
  const drop = (xs: unknown[]) =>
    xs.map((x) => {
      const { created_at: _c, updated_at: _u, occurred_at: _o, ...rest } = x as Record<string, unknown>;
      return rest;
    });
  return {
    orders: drop(rows.orders),
    balances: rows.balances,
    postings: rows.postings,
    audit: drop(rows.audit),
    lockEntries: drop(rows.lockEntries),
  };
};

/** An answer without its mark (a sequence's) and versions. */
const unmarked = (a: LockAnswer) => ({ ...unversioned(a), mark: undefined });

type Kind = "debit" | "credit" | "client_order_id";

/**
 * A writer of `kind` that forces the redo of `flush`, from what 0033 decides without it
 * (`alone`) and the balances before; null when the flush gives it nothing to act on.
 */
function writerFor(
  kind: Kind,
  flush: PlacementFunding[],
  alone: LockAnswer,
  before: { user_id: string; asset: string; available: string; locked: string }[],
  draw: { target: number; amount: number; asset: number },
  other: string,
): ((db: DbExecutor) => Promise<unknown>) | null {
  const outcomes = lockOutcomes(flush, alone);
  const key = (f: PlacementFunding) => `${f.lock.user_id}|${f.lock.asset}`;
  const pick = <T>(xs: T[]) => (xs.length === 0 ? null : xs[draw.target % xs.length]!);
  switch (kind) {
    case "debit": {
      // A row the flush locks L of, from A: a debit of more than A − L (and at most A).
      const locked = new Map<string, bigint>();
      flush.forEach((f, i) => {
        if (outcomes[i]!.outcome === "locked")
          locked.set(key(f), (locked.get(key(f)) ?? 0n) + BigInt(f.lock.amount));
      });
      const row = pick([...locked]);
      if (!row) return null;
      const [user, asset] = row[0].split("|") as [string, string];
      const available = BigInt(before.find((b) => b.user_id === user && b.asset === asset)!.available);
      return debit(user, asset, available - row[1] + 1n + (BigInt(draw.amount) % row[1]));
    }
    case "credit": {
      // A row that refused a placement for want of funds: any credit changes what it was decided on.
      const short = pick(flush.filter((_, i) => outcomes[i]!.outcome === "insufficient_funds"));
      if (!short) return null;
      return credit(short.lock.user_id, short.lock.asset, 1n + BigInt(draw.amount % 400));
    }
    case "client_order_id": {
      // A locked placement's client_order_id, taken by the same user's order of another flush (in
      // the test's second market, which unfenced flushes also place in).
      const taken = pick(
        flush.filter((f, i) => outcomes[i]!.outcome === "locked" && f.rows[0]!.client_order_id !== null),
      );
      if (!taken) return null;
      const asset = ASSETS[draw.asset % 2]!;
      return otherFlush([
        one(taken.lock.user_id, asset, "1", other, taken.rows[0]!.client_order_id as string),
      ]);
    }
  }
}

describe("place_orders (0034) redone lock-first, on random flushes", () => {
  const kinds: { kind: Kind; what: string }[] = [
    { kind: "debit", what: "a debit leaves a row short of the flush's locks on it" },
    { kind: "credit", what: "a credit changes a row that refused a placement for want of funds" },
    { kind: "client_order_id", what: "another flush's order takes a placement's client_order_id" },
  ];
  for (const { kind, what } of kinds) {
    it(`answers and writes as 0033 run after the writer: ${what}`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 30 }),
          fc.record({ target: fc.nat(), amount: fc.nat(), asset: fc.nat(), fenced: fc.boolean() }),
          async (specs, draw) => {
            const [m, n] = [await createMarket(), await createMarket()];
            const world = await committedWorld(n);
            let fence: FencePass | undefined;
            if (draw.fenced) {
              const { epoch } = await withDatabase(env, (db) => raise(db, m, null));
              fence = { market: m, epoch };
            }
            // The shapes' markets mapped to the test's (a fenced call's rows all of the fence's).
            const markets: Record<string, string> = { "BTC-USDT": m, "ETH-USDT": fence ? m : n };
            const flush = batchOf(world, specs).map((f) => ({
              ...f,
              rows: f.rows.map((r) => ({
                ...r,
                market: markets[String((r as Record<string, unknown>).market)]!,
              })),
            })) as PlacementFunding[];
            const before = await withDatabase(env, (db) => balancesOf(db, world.users));
            const alone = await lockFirstAfter(
              async () => {},
              flush,
              async () => {},
              fence,
            );
            const writer = writerFor(kind, flush, alone.answer, before, draw, n);
            fc.pre(writer !== null);

            const expected = await lockFirstAfter(writer!, flush, (tx) => rowsLeft(tx, world, flush), fence);
            const seen = await lateLockAround(writer!, flush, world.users, { fence });
            // The call waited for the writer with its orders written: its optimistic attempt ran
            // into the writer's row (or client_order_id), so what it answers comes from the redo.
            expect(seen.wroteBeforeWaiting).toBe(true);
            const after = await withDatabase(env, (db) => rowsLeft(db, world, flush));
            expect(unmarked(seen.answer)).toEqual(unmarked(expected.answer));
            expect(untimed(after)).toEqual(untimed(expected.after));
            noNegative(after.balances as { available: string; locked: string }[]);
            if (fence) {
              // The mark, drawn once before the attempts, lies below every order the redo wrote.
              const { rows } = await withDatabase(env, (db) =>
                db.execute<{ low: string | null }>(sql`select min(number)::text as low from orders
                  where id = any(${`{${flush.flatMap((f) => f.rows.map((r) => r.id)).join(",")}}`}::uuid[])
                    and market = ${m}`),
              );
              expect(seen.answer.mark).not.toBeNull();
              if (rows[0]!.low !== null)
                expect(Number(rows[0]!.low)).toBeGreaterThan(Number(seen.answer.mark));
            } else expect(seen.answer.mark).toBeNull();
          },
        ),
        { numRuns: 8, endOnFailure: true },
      );
    }, 120_000);
  }
});

describe("place_orders (0034): a fenced call redone lock-first", () => {
  it("holds its fence through the redo: a raise meanwhile waits for it and finds its orders; then its epoch is refused whole", async () => {
    const [u, v] = await usersWith(2, 100n);
    const market = await createMarket();
    const first = await withDatabase(env, (db) => raise(db, market, null));
    const fence = { market, epoch: first.epoch };
    // Decided from 100: both 30s fit; the debit leaves 40, which funds one (the redo's decision).
    // v's USDT row is in the redo's lock (0033's: every row of the flush, a refused placement's
    // too) and not in the optimistic attempt's: a second writer holding it keeps the call
    // between its rollback and its commit until we let it go.
    const writer = debit(u!, "USDT", 60n);
    const second = credit(v!, "USDT", 1n);
    const flush = [
      one(u!, "USDT", "30", market),
      one(u!, "USDT", "30", market),
      one(v!, "BTC", "10", market),
      one(v!, "USDT", "0", market),
    ];
    const expected = await lockFirstAfter(
      async (tx) => {
        await writer(tx);
        await second(tx);
      },
      flush,
      (tx) => balancesOf(tx, [u!, v!]),
      fence,
    );

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let secondPid = 0;
    const holding = withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        await second(tx);
        secondPid = await backendPid(tx);
        await released;
      }),
    );
    while (secondPid === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    let raising: Promise<Raised> | undefined;
    let raised: Raised | undefined;
    let raisePid = 0;
    // Once the call is redone (it waits for the second writer, after its rollback to the
    // savepoint), is the raise still waiting for it? Then the second writer commits.
    let raiseWaitedThroughRedo: boolean | undefined;
    let redone: Promise<void> = Promise.resolve();
    const seen = await lateLockAround(writer, flush, [u!, v!], {
      fence,
      // The next incarnation raises the fence while the call waits at its late lock (its
      // orders written): the raise waits for the call's pass, held through the rollback to
      // the savepoint and the redo, until the call commits.
      meanwhile: async (call) => {
        raising = withDatabase(env, (db) =>
          db.transaction(async (tx) => {
            raisePid = await backendPid(tx);
            return raise(tx, market, first.mark);
          }),
        ).then((r) => (raised = r));
        while (raisePid === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        await waitsFor(raisePid, call);
        // Only from here (the writer commits next) can the call reach its redo: looked for from
        // now, so the earlier waits do not eat this one's budget on a loaded machine.
        redone = (async () => {
          const redoing = await blockedBy(secondPid);
          raiseWaitedThroughRedo = raised === undefined && (await isWaitingFor(raisePid, redoing));
        })().finally(release);
      },
    });
    await Promise.all([redone, holding]);
    expect(seen.wroteBeforeWaiting).toBe(true);
    expect(raiseWaitedThroughRedo).toBe(true);
    // Unraised when it passed: it answers as 0033 run after the writers.
    expect(unmarked(seen.answer)).toEqual(unmarked(expected.answer));
    // One 30 locked, one refused for funds, v's BTC locked, v's 0 refused (the balance rows
    // numbered in (user, asset) order).
    expect(seen.answer.o.map((k) => Math.min(k, 0))).toEqual([0, -1, 0, -4]);
    const balances = await withDatabase(env, (db) => balancesOf(db, [u!, v!]));
    expect(balances).toEqual(expected.after);
    noNegative(balances);
    // The raise read what the redo committed: its orders, above the old mark.
    await raising;
    expect(raised!.epoch).toBe(first.epoch + 1);
    expect(raised!.orders).toEqual([
      { order_id: flush[0]!.rows[0]!.id, user_id: u },
      { order_id: flush[2]!.rows[0]!.id, user_id: v },
    ]);

    // The old epoch's next call (a flush the same writer would force into the redo) is refused
    // whole: no order, no lock.
    const late = [one(u!, "USDT", "30", market), one(v!, "BTC", "10", market)];
    const refused = await withDatabase(env, (db) => db.execute(lockStatement(late, fence))).then(
      () => null,
      (err: unknown) => (err as { cause?: { code?: string } }).cause ?? {},
    );
    expect(refused).toMatchObject({ code: "55P03" });
    const { rows } = await withDatabase(env, (db) =>
      db.execute<{ n: number }>(sql`select count(*)::int as n from orders
        where id = any(${`{${late.map((f) => f.rows[0]!.id).join(",")}}`}::uuid[])`),
    );
    expect(rows[0]!.n).toBe(0);
    expect(await withDatabase(env, (db) => balancesOf(db, [u!, v!]))).toEqual(balances);
  }, 30_000);
});
