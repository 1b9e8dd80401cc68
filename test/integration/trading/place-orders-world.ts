import { env } from "cloudflare:workers";
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import fc from "fast-check";
import { expect } from "vitest";
import {
  lockArguments,
  lockOutcomes,
  lockStatement,
  type LockAnswer,
} from "../../../durable-objects/market/funds-locker";
import { lockArguments0026, lockStatement0026 } from "../../../bench/trading/place-orders-0026";
import { lockStatement0027 } from "../../../bench/trading/place-orders-0027";
import { lockStatement0029 } from "../../../bench/trading/place-orders-0029";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import type { FencePass } from "../../../durable-objects/market/lock-fence";
import { createMarket } from "./helpers";
import row0005 from "../../../migrations/0005_place_orders.sql?raw";
import lockFirst0033 from "../../../migrations/0033_place_orders_audit_context.sql?raw";

// The world the place_orders tests run flushes in (place-orders-sql.test.ts, place-orders-0026.test.ts,
// place-orders-0027.test.ts, place-orders-0029.test.ts, place-orders-0033.test.ts, place-orders-late-lock.test.ts):
// random placements of three users over two assets, and what a call left behind.

export const ASSETS = ["BTC", "USDT"] as const;
export const KNOWN_COIDS = ["k0", "k1"];

interface Spec {
  user: number;
  asset: 0 | 1;
  amount: number;
  /** -1: a fresh id; -2 / -3: a known order's id; k: the id of this user's k-th earlier placement. */
  id: number;
  coid: string | null;
  oco: boolean;
  /** Which of `SHAPES` its rows take and which of `AUDITS` its audit row (0 when absent). */
  shape?: number;
}

export const specArb: fc.Arbitrary<Spec> = fc.record({
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
  shape: fc.nat(),
});

/**
 * The order columns a row takes besides its ids and lock, all different from one shape to the
 * next (markets, types, amounts), so a version that writes one column from another, or a row's
 * from another row's, leaves other rows than the version it is compared with.
 */
const SHAPE_COLUMNS = [
  "market",
  "type",
  "time_in_force",
  "post_only",
  "self_trade_prevention",
  "price",
  "stop_price",
  "quantity",
  "quote_quantity",
  "visible_quantity",
  "trailing_offset",
  "trailing_offset_unit",
];
const SHAPES = [
  ["BTC-USDT", "limit", "GTC", false, "expire_taker", "6400000", null, "1000", null, null, null, null],
  ["ETH-USDT", "market", "IOC", false, "expire_both", null, null, "2000", null, null, null, null],
  [
    "BTC-USDT",
    "stop_limit",
    "GTC",
    false,
    "expire_maker",
    "6300000",
    "6350000",
    "3000",
    null,
    null,
    null,
    null,
  ],
  ["BTC-USDT", "trailing_stop", "IOC", false, "expire_taker", null, null, "1500", null, null, 25, "bps"],
  ["ETH-USDT", "limit", "GTC", true, "expire_maker", "300000", null, "5000", null, "1000", null, null],
  ["BTC-USDT", "market", "FOK", false, "expire_both", null, null, null, "123456", null, null, null],
].map((values) => Object.fromEntries(SHAPE_COLUMNS.map((column, k) => [column, values[k]!])));

/** The audit fields besides the actor and the order, different from one to the next. */
const AUDITS = [
  { actor_type: "user", ip_address: null, user_agent: "place-orders-sql.test", request_id: null },
  { actor_type: "api_key", ip_address: "203.0.113.7", user_agent: "ccxt/4", request_id: "req-a" },
  { actor_type: "user", ip_address: "198.51.100.1", user_agent: null, request_id: "req-b" },
] as const;

/** An actor other than the placement's user (an admin, say): audit_logs.actor_id is not a foreign key. */
const OTHER_ACTOR = "00000000-0000-4000-8000-0000000000a1";

export interface World {
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
  shape: number,
) {
  return {
    id,
    user_id: userId,
    client_order_id: coid,
    side: asset === "BTC" ? "sell" : "buy",
    ...SHAPES[shape % SHAPES.length]!,
    oco_group_id: oco,
    lock_asset: asset,
    locked_amount: amount,
  };
}

export function placement(
  userId: string,
  asset: string,
  amount: string,
  id: string,
  coid: string | null,
  oco: boolean,
  shape = 0,
) {
  const rows = [orderRow(id, userId, asset, amount, coid, oco ? id : null, shape)];
  if (oco) rows.push(orderRow(crypto.randomUUID(), userId, asset, "0", null, id, shape + 1));
  const { side } = rows[0]!;
  const { market, type } = SHAPES[shape % SHAPES.length]!;
  return {
    rows,
    lock: { user_id: userId, asset, amount },
    audit: {
      // Now and then another actor than the lock's user (0033 sends the lock's user as null).
      actor_id: shape % 5 === 4 ? OTHER_ACTOR : userId,
      ...AUDITS[shape % AUDITS.length]!,
      // Half the shape's own, half the Worker's (placement.ts: many placements share one).
      details:
        shape % 2 === 0
          ? { market, shape }
          : oco
            ? { market, side, type: "oco", stop_order_id: rows[1]!.id }
            : { market, side, type },
    },
  };
}

export function batchOf(world: World, specs: readonly Spec[]) {
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
    return placement(world.users[s.user]!, ASSETS[s.asset], String(s.amount), id, s.coid, s.oco, s.shape);
  });
}

/** A Postgres array literal (drizzle spreads a JS array into a row); uuids and codes need no quoting. */
const pgArray = (xs: readonly string[]) => `{${xs.join(",")}}`;

/** A flush as the object sends it: its placements in order. */
export type Flush = PlacementFunding[];

/** `batch` with placement `k` changed by `change`. */
export const withPlacement = (batch: Flush, k: number, change: (f: PlacementFunding) => PlacementFunding) =>
  batch.map((f, i) => (i === k ? change(f) : f));

export type Outcome = Record<string, unknown> & { i: number };

/** What a lock entry says of the orders it locks for (0017). */
interface LockMetadata {
  orders: { id: string; amount: string }[];
}

/** `place_orders` as the market object calls it (durable-objects/market/funds-locker.ts, 0033): its compact answer (0027's). */
export const placeOrders = (batch: unknown[]) => lockStatement(batch as PlacementFunding[]);

/** 0033's `place_orders` (balance rows locked first), loaded as `pg_temp.place_orders_0033`; fenced when `fence` is given. */
export const placeOrders0033 = (batch: unknown[], fence?: FencePass) =>
  sql`select pg_temp.place_orders_0033(f_fence_market => ${fence?.market ?? null}::text, f_fence_epoch => ${fence?.epoch ?? null}::bigint, ${lockArguments(batch as PlacementFunding[])}) as r`;

/** Loads 0033's `place_orders` as `pg_temp.place_orders_0033` on `db`'s connection. */
export const load0033 = (db: DbExecutor) =>
  db.execute(
    sql.raw(lockFirst0033.replace(/FUNCTION place_orders\(/, "FUNCTION pg_temp.place_orders_0033(")),
  );

/** 0029's `place_orders`, which the serving release calls while 0033 migrates. */
export const placeOrders0029 = (batch: unknown[]) => lockStatement0029(batch as PlacementFunding[]);

/** 0027's `place_orders`, which the serving release calls while 0029 migrates. */
export const placeOrders0027 = (batch: unknown[]) => lockStatement0027(batch as PlacementFunding[]);

/** 0026's `place_orders`, which the serving release calls while 0027 migrates: its outcomes. */
export const placeOrders0026 = (batch: unknown[]) =>
  sql`select x.r->'r' as r from (${lockStatement0026(batch as PlacementFunding[])}) x`;

/** 0020's `place_orders`, which the release before that called. */
export const placeOrders0020 = (batch: unknown[]) =>
  sql`select place_orders(${lockArguments0026(batch as PlacementFunding[])}) as r`;

/** 0005's `place_orders`, loaded as `pg_temp.place_orders_0005`: a flush as one jsonb array. */
export const placeOrders0005 = (batch: unknown[]) =>
  sql`select pg_temp.place_orders_0005(${JSON.stringify(batch)}::jsonb) as r`;

/** What a call left: its outcomes and every row it wrote (the setup's lock entries aside). */
export async function callAndLook(
  db: DbExecutor,
  call: (batch: unknown[]) => SQL,
  world: World,
  batch: unknown[],
) {
  const { rows } = await db.execute<{ r: Outcome[] | LockAnswer }>(call(batch));
  const answer = rows[0]!.r;
  // 0027's answer read as the object reads it; the earlier ones' objects by their `i`.
  const outcomes = Array.isArray(answer)
    ? answer.sort((a, b) => a.i - b.i)
    : lockOutcomes(batch as PlacementFunding[], answer).map((o, i): Outcome => ({ ...o, i }));
  return { outcomes, ...(await rowsLeft(db, world, batch)) };
}

/** Every row a call of `batch` left (the setup's lock entries aside), its balances among them. */
export async function rowsLeft(db: DbExecutor, world: World, batch: unknown[]) {
  const ids = [...new Set(batch.flatMap((p) => (p as { rows: { id: string }[] }).rows.map((r) => r.id)))];
  const look = async (q: ReturnType<typeof sql>) => (await db.execute(q)).rows;
  return {
    // Every column but the number (another sequence's; the flush's order is checked apart).
    orders: await look(sql`select id, user_id, market, client_order_id, side, type, time_in_force, post_only,
        self_trade_prevention, price::text, stop_price::text, quantity::text, quote_quantity::text,
        visible_quantity::text, trailing_offset, trailing_offset_unit, oco_group_id, status, lock_asset,
        locked_amount::text, filled_quantity::text, filled_quote::text, consumed_amount::text,
        released_amount::text, reject_reason, amend_id, amend_seq, created_at::text, updated_at::text, closed_at
      from orders where id = any(${pgArray(ids)}::uuid[]) order by id`),
    balances: await look(sql`select user_id, asset, available::text, locked::text from balances
      where user_id = any(${pgArray(world.users)}::uuid[]) order by user_id, asset`),
    postings:
      await look(sql`select p.user_id, p.asset, p.account, sum(p.amount)::text as amount, count(*)::int as entries
      from ledger_postings p join ledger_entries e on e.id = p.entry_id
      where e.type = 'order.lock' and e.reference = any(${pgArray(ids)}::text[])
        and e.reference <> all(${pgArray(world.knownIds)}::text[]) group by 1, 2, 3 order by 1, 2, 3`),
    audit:
      await look(sql`select resource_id, actor_id, actor_type, resource_type, ip_address::text, user_agent,
        request_id, details, occurred_at::text from audit_logs
      where action = 'order.place' and resource_id = any(${pgArray(ids)}::text[]) order by resource_id`),
    lockEntries: (await look(sql`select e.reference, e.metadata, e.created_at::text,
        (select json_agg(json_build_array(p.account, p.user_id, p.asset, p.amount::text) order by p.account)
          from ledger_postings p where p.entry_id = e.id) as postings
      from ledger_entries e
      where e.type = 'order.lock' and e.reference = any(${pgArray(ids)}::text[])
        and e.reference <> all(${pgArray(world.knownIds)}::text[])
      order by e.reference, e.metadata::text`)) as { metadata: LockMetadata }[],
  };
}

class Rollback extends Error {}

/** Runs `fn` in a transaction that is rolled back after it. */
export async function inRolledBackTransaction(fn: (tx: DbExecutor) => Promise<void>) {
  await withDatabase(env, (db) =>
    db
      .transaction(async (tx) => {
        await fn(tx);
        throw new Rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      }),
  );
}

/** A world of three users with balances and two known orders, inside a transaction rolled back after `fn`. */
export async function inWorld(fn: (db: DbExecutor, world: World) => Promise<void>) {
  await inRolledBackTransaction(async (tx) => {
    await tx.execute(
      sql.raw(row0005.replace(/FUNCTION place_orders\(/, "FUNCTION pg_temp.place_orders_0005(")),
    );
    await load0033(tx);
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
  });
}

/** What one random flush left through each of two `place_orders` calls. */
interface BothWays {
  world: World;
  specs: Spec[];
  batch: ReturnType<typeof batchOf>;
  before: Awaited<ReturnType<typeof callAndLook>>;
  now: Awaited<ReturnType<typeof callAndLook>>;
}

/** Random mixed flushes, each through `earlier` then `later` from the same state (rolled back after each). */
export async function onRandomFlushes(
  earlier: (batch: unknown[]) => SQL,
  later: (batch: unknown[]) => SQL,
  check: (flush: BothWays) => void,
) {
  await inWorld(async (db, world) => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 30 }), async (specs) => {
        const batch = batchOf(world, specs);
        await db.execute(sql`savepoint each_batch`);
        const before = await callAndLook(db, earlier, world, batch);
        await db.execute(sql`rollback to savepoint each_batch`);
        const now = await callAndLook(db, later, world, batch);
        await db.execute(sql`rollback to savepoint each_batch`);
        check({ world, specs, batch, before, now });
      }),
      { numRuns: 80, endOnFailure: true },
    );
  });
}

/**
 * Both calls decided alike (a lock's version aside: its posting's id, from a sequence a rollback
 * does not rewind; but the locks of one balance row share one) and left the same rows. `ignored`:
 * answer fields one of the versions does not give.
 */
export function expectSameLocks(
  { before, now }: Pick<BothWays, "before" | "now">,
  ignored: readonly string[] = [],
) {
  const answer = ({ version: _v, ...o }: Outcome) => {
    for (const field of ignored) delete o[field];
    return o;
  };
  expect(now.outcomes.map(answer)).toEqual(before.outcomes.map(answer));
  const versions = (o: Outcome[]) => o.map((x) => (x.version === undefined ? "-" : "v"));
  expect(versions(now.outcomes)).toEqual(versions(before.outcomes));
  const sameVersion = (o: Outcome[]) =>
    o.map((x) => o.findIndex((y) => y.version === x.version && x.version));
  expect(sameVersion(now.outcomes)).toEqual(sameVersion(before.outcomes));
  const { outcomes: _n, ...rowsNow } = now;
  const { outcomes: _b, ...rowsBefore } = before;
  expect(rowsNow).toEqual(rowsBefore);
}

/**
 * On random flushes through `call`: every order row of each locked placement numbered, and its
 * audit row written (by id), in the flush's order.
 */
export async function expectWrittenInFlushOrder(call: (batch: unknown[]) => SQL) {
  await inWorld(async (db, world) => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 30 }), async (specs) => {
        const batch = batchOf(world, specs) as Flush;
        await db.execute(sql`savepoint each_batch`);
        // What was there before (a known id's rows among them); another test's rows are not the batch's.
        const { rows: top } = await db.execute<{ n: string; a: string }>(
          sql`select coalesce(max(number), 0)::text as n, (select coalesce(max(id), 0) from audit_logs)::text as a from orders`,
        );
        const { rows: answer } = await db.execute<{ r: { o: number[] } }>(call(batch));
        const locked = batch.filter((_, i) => answer[0]!.r.o[i]! >= 0);
        const ids = pgArray(batch.flatMap((f) => f.rows.map((r) => String(r.id))));
        const { rows: orders } = await db.execute<{ id: string }>(
          sql`select id::text from orders where number > ${top[0]!.n}::bigint and id = any(${ids}::uuid[]) order by number`,
        );
        expect(orders.map((r) => r.id)).toEqual(locked.flatMap((f) => f.rows.map((r) => r.id)));
        const { rows: audit } = await db.execute<{ resource: string }>(
          sql`select resource_id as resource from audit_logs
            where id > ${top[0]!.a}::bigint and resource_id = any(${ids}::text[]) order by id`,
        );
        expect(audit.map((r) => r.resource)).toEqual(locked.map((f) => f.rows[0]!.id));
        await db.execute(sql`rollback to savepoint each_batch`);
      }),
      { numRuns: 40, endOnFailure: true },
    );
  });
}

/** Postgres' error for `q` (under drizzle's "Failed query" wrapper), the transaction kept; null if it ran. */
export async function failure(db: DbExecutor, q: SQL) {
  await db.execute(sql`savepoint each_call`);
  const err = await db.execute(q).then(
    () => null,
    (e: unknown) => (e as { cause?: { code?: string; message?: string } }).cause ?? {},
  );
  await db.execute(sql`rollback to savepoint each_call`);
  return err;
}

const dialect = new PgDialect();

/** A `place_orders(f_… => …)` call with some of its arrays replaced (Postgres array literals, by name). */
export function callWith(call: SQL, arrays: Record<string, string | null>): SQL {
  const { sql: text, params } = dialect.sqlToQuery(call);
  const byName = new Map([...text.matchAll(/(f_\w+) => \$(\d+)/g)].map((m) => [m[1]!, Number(m[2]) - 1]));
  for (const [name, literal] of Object.entries(arrays)) params[byName.get(name)!] = literal;
  const parts = text.split(/\$\d+/);
  return sql.join(
    parts.flatMap((part, k) => (k < params.length ? [sql.raw(part), sql`${params[k]}`] : [sql.raw(part)])),
    sql``,
  );
}

/**
 * A fenced call through `statement` (0027's, 0029's or 0033's `place_orders`): it passes the market's lock
 * fence first (its mark below the orders it inserts; another epoch refused, 55P03), and fails
 * (22023) when a row is of another market than the fence's, which unfenced is any known market.
 */
export async function fencedCalls(statement: (flush: PlacementFunding[], fence?: FencePass) => SQL) {
  const market = await createMarket();
  await inWorld(async (db, world) => {
    await db.execute(sql`insert into market_lock_fences (market, epoch) values (${market}, 7)`);
    const fence = { market, epoch: 7 };
    const flush = () =>
      batchOf(world, [
        { user: 0, asset: 1, amount: 10, id: -1, coid: null, oco: false },
        { user: 1, asset: 0, amount: 20, id: -1, coid: null, oco: true },
      ]).map((f) => ({ ...f, rows: f.rows.map((r) => ({ ...r, market })) })) as PlacementFunding[];
    // Two balance rows, whichever is k = 0.
    const twoRows = (o: number[]) => expect([...o].sort()).toEqual([0, 1]);

    const strayed = flush();
    strayed[1]!.rows[1] = { ...strayed[1]!.rows[1]!, market: "BTC-USDT" };
    const err = await failure(db, statement(strayed, fence));
    expect(err).toMatchObject({ code: "22023" });
    expect(err?.message).toMatch(new RegExp(`row 3 is of market BTC-USDT, the fence of ${market}`));
    const { rows: unfenced } = await db.execute<{ r: LockAnswer }>(statement(strayed));
    expect(unfenced[0]!.r.mark).toBeNull();
    twoRows(unfenced[0]!.r.o);

    const passing = flush();
    const { rows } = await db.execute<{ r: LockAnswer }>(statement(passing, fence));
    twoRows(rows[0]!.r.o);
    const { rows: numbers } = await db.execute<{ number: string }>(
      sql`select number::text from orders where id = ${passing[0]!.rows[0]!.id}`,
    );
    expect(Number(numbers[0]!.number)).toBeGreaterThan(rows[0]!.r.mark!);
    expect(await failure(db, statement(flush(), { market, epoch: 6 }))).toMatchObject({ code: "55P03" });
  });
}

/** Calls through `statement` whose column arrays are of unequal lengths, and the reason Postgres gives (22023). */
export const unequalArrays = (statement: (flush: PlacementFunding[]) => SQL) => [
  {
    what: "a long per-placement array",
    call: (batch: PlacementFunding[]) =>
      callWith(statement(batch), { f_lock_amount: `{${batch.map(() => 1).join(",")},1}` }),
    reason: /per-placement arrays must all have/,
  },
  {
    what: "a per-row array one short",
    call: (batch: PlacementFunding[]) =>
      callWith(statement(batch), {
        f_price: `{${batch
          .flatMap((f) => f.rows)
          .slice(1)
          .map(() => 1)
          .join(",")}}`,
      }),
    reason: /per-row arrays/,
  },
];
