import { env } from "cloudflare:workers";
import { sql, type SQL } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockArguments } from "../../../durable-objects/market/funds-locker";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import row0005 from "../../../migrations/0005_place_orders.sql?raw";

/**
 * The set-based `place_orders` (migrations 0015, then 0017; since 0020 over a flush given as
 * column arrays, called as the market object calls it: `lockArguments`) against its row-at-a-time
 * predecessor (0005, loaded here as `pg_temp.place_orders_0005`): on random mixed batches —
 * several users and assets, amounts that run a balance dry mid-batch or are not positive, ids
 * and client_order_ids repeated inside the batch or already known to Postgres, OCO pairs — both
 * give the same outcome per placement and leave the same order rows, balances, audit rows and
 * sums of lock postings. What 0015 changes on purpose: one lock entry (two postings) per balance
 * row and flush, not per placement, so every lock of a row in the flush reports the balance the
 * flush left and one version; 0017 names each order of the entry with its amount in the
 * entry's metadata. Everything runs in one transaction that is rolled back.
 */

const ASSETS = ["BTC", "USDT"] as const;
const KNOWN_COIDS = ["k0", "k1"];

interface Spec {
  user: number;
  asset: 0 | 1;
  amount: number;
  /** -1: a fresh id; -2 / -3: a known order's id; k: the id of this user's k-th earlier placement. */
  id: number;
  coid: string | null;
  oco: boolean;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  user: fc.integer({ min: 0, max: 2 }),
  asset: fc.constantFrom(0 as const, 1 as const),
  amount: fc.oneof(fc.integer({ min: 1, max: 400 }), fc.constantFrom(0, -5), fc.integer({ min: 1, max: 40 })),
  id: fc.oneof(
    { weight: 6, arbitrary: fc.constant(-1) },
    fc.constantFrom(-2, -3),
    fc.integer({ min: 0, max: 3 }),
  ),
  coid: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.constantFrom("a", "b", "c", ...KNOWN_COIDS)),
  oco: fc.boolean(),
});

interface World {
  users: string[];
  knownIds: string[];
}

function orderRow(
  id: string,
  userId: string,
  asset: string,
  amount: string,
  coid: string | null,
  oco: string | null,
) {
  return {
    id,
    user_id: userId,
    market: "BTC-USDT",
    client_order_id: coid,
    side: asset === "BTC" ? "sell" : "buy",
    type: "limit",
    time_in_force: "GTC",
    post_only: false,
    self_trade_prevention: "expire_taker",
    price: "6400000",
    stop_price: null,
    quantity: "1000",
    quote_quantity: null,
    visible_quantity: null,
    trailing_offset: null,
    trailing_offset_unit: null,
    oco_group_id: oco,
    lock_asset: asset,
    locked_amount: amount,
  };
}

function placement(
  userId: string,
  asset: string,
  amount: string,
  id: string,
  coid: string | null,
  oco: boolean,
) {
  const rows = [orderRow(id, userId, asset, amount, coid, oco ? id : null)];
  if (oco) rows.push(orderRow(crypto.randomUUID(), userId, asset, "0", null, id));
  return {
    rows,
    lock: { user_id: userId, asset, amount },
    audit: {
      actor_id: userId,
      actor_type: "user",
      ip_address: null,
      user_agent: "place-orders-sql.test",
      request_id: null,
      details: { market: "BTC-USDT" },
    },
  };
}

function batchOf(world: World, specs: readonly Spec[]) {
  const earlier: string[][] = world.users.map(() => []);
  return specs.map((s) => {
    const mine = earlier[s.user]!;
    const id =
      s.id === -1 || (s.id >= 0 && s.id >= mine.length)
        ? newOrderId()
        : s.id < 0
          ? world.knownIds[-s.id - 2]!
          : mine[s.id]!;
    mine.push(id);
    return placement(world.users[s.user]!, ASSETS[s.asset], String(s.amount), id, s.coid, s.oco);
  });
}

/** A Postgres array literal (drizzle spreads a JS array into a row); uuids and codes need no quoting. */
const pgArray = (xs: readonly string[]) => `{${xs.join(",")}}`;

type Outcome = Record<string, unknown> & { i: number };

/** What a lock entry says of the orders it locks for (0017). */
interface LockMetadata {
  orders: { id: string; amount: string }[];
}

/** `place_orders` as the market object calls it (durable-objects/market/funds-locker.ts). */
const placeOrders = (batch: unknown[]) =>
  sql`select place_orders(${lockArguments(batch as PlacementFunding[])}) as r`;

/** 0005's `place_orders`, loaded as `pg_temp.place_orders_0005`: a flush as one jsonb array. */
const placeOrders0005 = (batch: unknown[]) =>
  sql`select pg_temp.place_orders_0005(${JSON.stringify(batch)}::jsonb) as r`;

/** What a call left: its outcomes and every row it wrote (the setup's lock entries aside). */
async function callAndLook(db: DbExecutor, call: (batch: unknown[]) => SQL, world: World, batch: unknown[]) {
  const { rows } = await db.execute<{ r: Outcome[] }>(call(batch));
  const outcomes = rows[0]!.r.sort((a, b) => a.i - b.i);
  const ids = [...new Set(batch.flatMap((p) => (p as { rows: { id: string }[] }).rows.map((r) => r.id)))];
  const look = async (q: ReturnType<typeof sql>) => (await db.execute(q)).rows;
  return {
    outcomes,
    orders:
      await look(sql`select id, user_id, client_order_id, status, lock_asset, locked_amount::text, oco_group_id
      from orders where id = any(${pgArray(ids)}::uuid[]) order by id`),
    balances: await look(sql`select user_id, asset, available::text, locked::text from balances
      where user_id = any(${pgArray(world.users)}::uuid[]) order by user_id, asset`),
    postings:
      await look(sql`select p.user_id, p.asset, p.account, sum(p.amount)::text as amount, count(*)::int as entries
      from ledger_postings p join ledger_entries e on e.id = p.entry_id
      where e.type = 'order.lock' and e.reference = any(${pgArray(ids)}::text[])
        and e.reference <> all(${pgArray(world.knownIds)}::text[]) group by 1, 2, 3 order by 1, 2, 3`),
    audit: await look(sql`select resource_id, actor_id, details from audit_logs
      where action = 'order.place' and resource_id = any(${pgArray(ids)}::text[]) order by resource_id`),
    lockEntries: (await look(sql`select e.metadata from ledger_entries e
      where e.type = 'order.lock' and e.reference = any(${pgArray(ids)}::text[])
        and e.reference <> all(${pgArray(world.knownIds)}::text[])`)) as { metadata: LockMetadata }[],
  };
}

class Rollback extends Error {}

/** A world of three users with balances and two known orders, inside a transaction rolled back after `fn`. */
async function inWorld(fn: (db: DbExecutor, world: World) => Promise<void>) {
  await withDatabase(env, async (db) => {
    await db
      .transaction(async (tx) => {
        await tx.execute(
          sql.raw(row0005.replace(/FUNCTION place_orders\(/, "FUNCTION pg_temp.place_orders_0005(")),
        );
        const { rows: users } = await tx.execute<{
          id: string;
        }>(sql`insert into users (email, first_name, last_name, password_hash, kyc_status)
          select 'po-' || gen_random_uuid() || '@test.dev', 'P', 'O', 'x', 'verified' from generate_series(1, 3) returning id`);
        const world: World = { users: users.map((u) => u.id), knownIds: [newOrderId(), newOrderId()] };
        await tx.execute(sql`insert into balances (user_id, asset, available, locked)
          select u, a, 300, 7 from unnest(${pgArray(world.users)}::uuid[]) u, unnest(${pgArray(ASSETS)}::text[]) a`);
        const known = world.knownIds.map((id, k) =>
          placement(world.users[k]!, "USDT", "5", id, KNOWN_COIDS[k]!, false),
        );
        await tx.execute(placeOrders(known));
        await fn(tx, world);
        throw new Rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      });
  });
}

describe("place_orders (set-based)", () => {
  it("decides and writes exactly as the row-at-a-time version on random mixed batches", async () => {
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 30 }), async (specs) => {
          const batch = batchOf(world, specs);
          await db.execute(sql`savepoint each_batch`);
          const before = await callAndLook(db, placeOrders0005, world, batch);
          await db.execute(sql`rollback to savepoint each_batch`);
          const now = await callAndLook(db, placeOrders, world, batch);
          await db.execute(sql`rollback to savepoint each_batch`);
          const decision = ({ i, outcome, order_id }: Outcome) => ({ i, outcome, order_id });
          expect(now.outcomes.map(decision)).toEqual(before.outcomes.map(decision));
          expect(now.orders).toEqual(before.orders);
          expect(now.balances).toEqual(before.balances);
          expect(now.audit).toEqual(before.audit);
          const sums = (ps: Record<string, unknown>[]) => ps.map(({ entries: _n, ...sum }) => sum);
          expect(sums(now.postings)).toEqual(sums(before.postings));
          for (const p of now.postings) expect(p.entries).toBe(1);
          // The lock entries name every locked placement once, with its amount (F3).
          const named = now.lockEntries.flatMap((e) => e.metadata.orders);
          const locked = now.outcomes.filter((o) => o.outcome === "locked");
          expect(named.sort((x, y) => x.id.localeCompare(y.id))).toEqual(
            locked
              .map((o) => ({ id: batch[o.i]!.rows[0]!.id, amount: String(specs[o.i]!.amount) }))
              .sort((x, y) => x.id.localeCompare(y.id)),
          );
          // Every lock of a balance row: the balance the flush left, under one version.
          const rows = new Map<string, { available: string; locked: string; version: unknown }>();
          for (const o of now.outcomes) {
            if (o.outcome !== "locked") continue;
            const s = specs[o.i]!;
            const key = `${world.users[s.user]}:${ASSETS[s.asset]}`;
            const balance = now.balances.find((b) => `${b.user_id}:${b.asset}` === key)!;
            expect({ available: o.available, locked: o.locked }).toEqual({
              available: balance.available,
              locked: balance.locked,
            });
            expect(o.version).toEqual((rows.get(key) ?? o).version);
            rows.set(key, o as never);
          }
        }),
        { numRuns: 80, endOnFailure: true },
      );
    });
  }, 120_000);

  it("runs a balance dry mid-batch without failing the others, and names a duplicate's order", async () => {
    await inWorld(async (db, world) => {
      const [u0, u1] = world.users as [string, string];
      const a = newOrderId();
      const batch = [
        placement(u0, "USDT", "200", a, "x", false), // 295 available (the known order holds 5) → 95
        placement(u0, "USDT", "150", newOrderId(), null, false), // insufficient: 95 left
        placement(u1, "BTC", "300", newOrderId(), null, true), // another user and asset: all of it
        placement(u0, "USDT", "100", newOrderId(), "x", false), // client_order_id of the first
        placement(u0, "USDT", "100", a, null, false), // the first's id again
        placement(u0, "USDT", "60", newOrderId(), "k0", false), // known client_order_id
        placement(u0, "BTC", "0", newOrderId(), null, false), // not a positive lock
        placement(u0, "USDT", "95", newOrderId(), null, false), // the last 95: a refusal consumed nothing
      ];
      const { outcomes, balances } = await callAndLook(db, placeOrders, world, batch);
      const flushLeft = { available: "0", locked: "307" };
      expect(outcomes.map(({ version: _v, created_at: _c, ...o }) => o)).toEqual([
        { i: 0, outcome: "locked", ...flushLeft },
        { i: 1, outcome: "insufficient_funds" },
        { i: 2, outcome: "locked", ...flushLeft },
        { i: 3, outcome: "duplicate_client_order_id", order_id: a },
        { i: 4, outcome: "duplicate_order" },
        { i: 5, outcome: "duplicate_client_order_id", order_id: world.knownIds[0] },
        { i: 6, outcome: "invalid_lock" },
        { i: 7, outcome: "locked", ...flushLeft },
      ]);
      expect(balances).toContainEqual({ user_id: u0, asset: "USDT", available: "0", locked: "307" });
      expect(balances).toContainEqual({ user_id: u1, asset: "BTC", available: "0", locked: "307" });
    });
  });

  it("records text exactly as given, whatever its characters (the column arrays' quoting)", async () => {
    await inWorld(async (db, world) => {
      const odd = 'tab\t new\nline "quoted" back\\slash, {braces} NULL null \u00e9 \ud83d\ude00';
      const p = placement(world.users[0]!, "USDT", "10", newOrderId(), `c,{"}\\${newOrderId()}`, false);
      const batch = [{ ...p, audit: { ...p.audit, user_agent: odd, request_id: "NULL", details: { odd } } }];
      const { outcomes } = await callAndLook(db, placeOrders, world, batch);
      expect(outcomes.map((o) => o.outcome)).toEqual(["locked"]);
      const { rows } = await db.execute(sql`select a.user_agent, a.request_id, a.details, o.client_order_id
        from audit_logs a join orders o on o.id::text = a.resource_id
        where a.action = 'order.place' and a.resource_id = ${p.rows[0]!.id}`);
      expect(rows).toEqual([
        {
          user_agent: odd,
          request_id: "NULL",
          details: { odd },
          client_order_id: p.rows[0]!.client_order_id,
        },
      ]);
    });
  });

  it("refuses a row with a column place_orders does not take, before calling", () => {
    const p = placement(newOrderId(), "USDT", "10", newOrderId(), null, false);
    const stray = { ...p, rows: [{ ...p.rows[0]!, colour: "red" }] } as unknown as PlacementFunding;
    expect(() => lockArguments([stray])).toThrow(/colour/);
  });

  it("refuses a call with an unknown market or a row that is not its lock's (what the foreign keys checked)", async () => {
    await inWorld(async (db, world) => {
      const [u0, u1] = world.users as [string, string];
      const good = placement(u0, "USDT", "10", newOrderId(), null, false);
      const withRow = (change: Record<string, string>) => {
        const p = placement(u0, "USDT", "10", newOrderId(), null, true);
        return { ...p, rows: [p.rows[0]!, { ...p.rows[1]!, ...change }] };
      };
      const refused = async (batch: unknown[], reason: RegExp) => {
        await db.execute(sql`savepoint each_call`);
        const err: unknown = await db.execute(placeOrders(batch)).then(
          () => null,
          (e: unknown) => e,
        );
        // drizzle wraps Postgres' error ("Failed query: …") as its cause.
        expect((err as { cause?: { message?: string } } | null)?.cause?.message).toMatch(reason);
        await db.execute(sql`rollback to savepoint each_call`);
      };
      await refused([good, withRow({ market: "NOPE-USDT" })], /unknown market NOPE-USDT/);
      await refused([good, withRow({ lock_asset: "BTC" })], /locks BTC under a lock of .* in USDT/);
      await refused([good, withRow({ user_id: u1 })], new RegExp(`a row of user ${u1}`));
      // Nothing of the refused calls was written; the good placement alone goes through.
      const { outcomes, orders } = await callAndLook(db, placeOrders, world, [good]);
      expect(outcomes.map((o) => o.outcome)).toEqual(["locked"]);
      expect(orders).toHaveLength(1);
    });
  });
});
