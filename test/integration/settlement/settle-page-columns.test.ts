import { env } from "cloudflare:workers";
import { sql, type SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import type { OutboxEntry } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import { settlePageCall } from "../../../src/domain/settlement/settle-page";
import typed0021 from "../../../migrations/0021_settle_page_typed.sql?raw";
import columns0024 from "../../../migrations/0024_settle_page_columns.sql?raw";
import { createMarket } from "../trading/helpers";

/**
 * `settle_page` over column arrays (migration 0024, its body since 0031; called as the market
 * object calls it: `settlePageCall`) against 0021's over one json array (loaded here as
 * `pg_temp.settle_page_0021`) and 0024's own body (`pg_temp.settle_page_0024`, which 0030 replaced)
 * on random pages: acceptances, fills with fees (partial and whole), closes that release what is
 * left, rejections, triggers, and what a page must not settle (an amendment, an OCO leg, a trade
 * without minor units or of an unknown order, a fill overdrawing its lock, an order closed twice,
 * a fill after its close, a trade settled before, a balance that would go negative, a stale
 * epoch). Both give the same answer or error and leave the same orders, trades, journal entry,
 * postings, balances, events and cursor. Everything runs in one transaction that is rolled back.
 */

const EPOCH = "epoch-a";
/** Settled before the world's cursor: entries at or below it are skipped. */
const CURSOR = 4;
const UNIT = 100_000_000n; // BTC's 8 decimals
/** The world's orders were last changed then (a page that changes one sets it to now()). */
const UNTOUCHED = "2020-01-01T00:00:00.000Z";

interface WorldOrder {
  id: string;
  user: number;
  buy: boolean;
  status: string;
  locked: bigint;
  consumed: bigint;
  oco: boolean;
}

interface World {
  market: string;
  users: string[];
  orders: WorldOrder[];
  /** A trade id the market settled already. */
  settledTrade: string;
  /** The orders' rows before any page, as `callAndLook` reads them. */
  initial: Record<string, unknown>[];
}

/** An order row without its `updated_at`. */
const unstamped = ({ updated_at: _at, ...row }: Record<string, unknown>) => row;

type Spec =
  | { t: "accepted" | "rejected" | "triggered" | "amended"; o: number }
  | { t: "done"; o: number; status: string; reason: string | null }
  | { t: "unknown" }
  | {
      t: "trade";
      buy: number;
      sell: number;
      takerBuy: boolean;
      price: number;
      quantity: number;
      makerBps: number;
      takerBps: number;
      minor: boolean;
      settled: boolean;
    };

const ORDERS = 10;
/** An order of the world; rarely the OCO leg (the last), which leaves the whole page to the planner. */
const order = fc.oneof(
  { weight: 40, arbitrary: fc.integer({ min: 0, max: ORDERS - 2 }) },
  { weight: 1, arbitrary: fc.constant(ORDERS - 1) },
);
const specArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("accepted" as const), o: order }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("trade" as const),
      buy: order,
      sell: order,
      takerBuy: fc.boolean(),
      price: fc.integer({ min: 1, max: 90_000_000 }),
      quantity: fc.integer({ min: 1, max: 4_000_000 }),
      makerBps: fc.constantFrom(0, 10, 25),
      takerBps: fc.constantFrom(0, 20, 45),
      minor: fc.oneof({ weight: 30, arbitrary: fc.constant(true) }, fc.constant(false)),
      settled: fc.oneof({ weight: 20, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant("done" as const),
      o: order,
      status: fc.constantFrom("filled", "cancelled", "expired", "new"),
      reason: fc.constantFrom(null, "user", "self_trade_prevention", 'odd "reason",\n{x}'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("rejected" as const), o: order }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("triggered" as const), o: order }) },
  { weight: 1, arbitrary: fc.constantFrom({ t: "amended" as const, o: 0 }, { t: "unknown" as const }) },
);

/** The page's entries, numbered from `first`, as the object's outbox holds them. */
function pageOf(world: World, specs: readonly Spec[], first: number): OutboxEntry[] {
  let seq = first;
  const base = { market: world.market, ts: 1_800_000_000_000 };
  return specs.map((s, k): OutboxEntry => {
    const ts = base.ts + k;
    const orderEntry = (
      o: WorldOrder,
      event: "accepted" | "rejected" | "done" | "amended" | "triggered",
    ) => ({
      seq: seq++,
      kind: "order" as const,
      ts,
      market: world.market,
      event,
      orderId: o.id,
      userId: world.users[o.user]!,
    });
    switch (s.t) {
      case "trade": {
        const buy = world.orders[s.buy]!;
        const sell = world.orders[s.sell]!;
        const [taker, maker] = s.takerBuy ? [buy, sell] : [sell, buy];
        return {
          seq: seq++,
          kind: "trade",
          ts,
          tradeId: s.settled ? world.settledTrade : `${world.market}:${seq}-${k}`,
          market: world.market,
          price: (s.price / 100).toFixed(2),
          quantity: (s.quantity / 1e8).toFixed(8),
          ...(s.minor ? { priceMinor: String(s.price * 10_000), quantityMinor: String(s.quantity) } : {}),
          takerSide: s.takerBuy ? "buy" : "sell",
          takerOrderId: taker.id,
          takerUserId: world.users[taker.user]!,
          makerOrderId: maker.id,
          makerUserId: world.users[maker.user]!,
          makerFeeBps: s.makerBps,
          takerFeeBps: s.takerBps,
        };
      }
      case "done":
        return {
          ...orderEntry(world.orders[s.o]!, "done"),
          status: s.status as "filled",
          ...(s.reason === null ? {} : { reason: s.reason }),
        };
      case "unknown":
        return { ...orderEntry({ ...world.orders[0]!, id: newOrderId() }, "accepted"), status: "new" };
      case "amended":
        return { ...orderEntry(world.orders[s.o]!, "amended"), priceMinor: "1", quantityMinor: "1" };
      default:
        return {
          ...orderEntry(world.orders[s.o]!, s.t),
          ...(s.t === "accepted" ? { status: "new" as const } : {}),
        };
    }
  });
}

/** 0021's `settle_page`, as the object of 0021's release calls it: the page as one json array. */
const settlePage0021 = (world: World, entries: OutboxEntry[], epoch: string) =>
  sql`select pg_temp.settle_page_0021(${world.market}, ${epoch}::text, ${JSON.stringify(entries)}::json,
    'BTC', 'USDT', 8, true) as r`;

/** 0024's body, called with the market object's arguments. */
function settlePage0024(world: World, entries: OutboxEntry[], epoch: string): SQL {
  const q = new PgDialect().sqlToQuery(settlePageNow(world, entries, epoch));
  const parts = q.sql.replace("select settle_page(", "select pg_temp.settle_page_0024(").split(/\$\d+/);
  return sql.join(
    parts.map((part, i) => (i < q.params.length ? sql`${sql.raw(part)}${q.params[i]}` : sql.raw(part))),
  );
}

/** The current `settle_page`, as the market object calls it. */
const settlePageNow = (world: World, entries: OutboxEntry[], epoch: string) =>
  settlePageCall(
    { symbol: world.market, baseAsset: "BTC", quoteAsset: "USDT", baseDecimals: 8 },
    entries,
    epoch,
    true,
  );

/** What a call answered (or the error it raised) and every row a settlement writes, ids aside. */
/** The world's order rows, in id order. */
async function ordersOf(db: DbExecutor, world: Pick<World, "orders">) {
  const ids = `{${world.orders.map((o) => o.id).join(",")}}`;
  const { rows } = await db.execute(sql`select id, status, consumed_amount::text, released_amount::text,
    filled_quantity::text, filled_quote::text, closed_at, updated_at from orders
    where id = any(${ids}::uuid[]) order by id`);
  return rows;
}

/** A call's answer and rows, or the error it raised (then nothing else: it wrote nothing). */
interface Look {
  error?: { code?: string; message?: string };
  answer?: unknown;
  events?: { envelope: unknown }[];
  orders?: Record<string, unknown>[];
  [rows: string]: unknown;
}

async function callAndLook(db: DbExecutor, world: World, call: SQL): Promise<Look> {
  const look = async (q: SQL) => (await db.execute(q)).rows;
  let answer: unknown;
  await db.execute(sql`savepoint each_call`);
  try {
    const { rows } = await db.execute<{ r: string }>(call);
    answer = JSON.parse(rows[0]!.r);
  } catch (err) {
    await db.execute(sql`rollback to savepoint each_call`);
    let pg: unknown = err;
    while (pg instanceof Error && !("code" in pg) && pg.cause) pg = pg.cause;
    const { code, message } = pg as { code?: string; message?: string };
    return { error: { code, message } };
  }
  const users = `{${world.users.join(",")}}`;
  const postings = await look(sql`select p.id::text, p.account, p.user_id, p.asset, p.amount::text
    from ledger_postings p join ledger_entries e on e.id = p.entry_id
    where e.type = 'trade.settlement' and e.reference like ${`${world.market}:%`}
    order by p.asset, p.account, p.user_id`);
  // A balance's version is its last posting's id: the ids differ between the calls (sequences
  // are not rolled back), so it is checked against this call's own postings.
  if (answer && typeof answer === "object" && "balances" in answer) {
    const balances = (answer as { balances: { user_id: string; asset: string; version?: string }[] })
      .balances;
    for (const b of balances) {
      const mine = postings
        .filter((p) => p.user_id === b.user_id && p.asset === b.asset)
        .map((p) => BigInt(p.id as string));
      expect(BigInt(b.version!)).toBe(mine.reduce((x, y) => (y > x ? y : x)));
      delete b.version;
    }
    balances.sort((x, y) => `${x.user_id}${x.asset}`.localeCompare(`${y.user_id}${y.asset}`));
  }
  const result = {
    answer,
    orders: await ordersOf(db, world),
    trades: await look(sql`select trade_id, seq, price::text, quantity::text, quote_amount::text, taker_side,
      buy_order_id, sell_order_id, buyer_id, seller_id, buyer_fee::text, seller_fee::text, executed_at
      from trades where market = ${world.market} order by trade_id`),
    entries: await look(sql`select type, reference, metadata from ledger_entries
      where type = 'trade.settlement' and reference like ${`${world.market}:%`} order by reference`),
    postings: postings.map(({ id: _id, ...p }) => p),
    balances: await look(sql`select user_id, asset, available::text, locked::text from balances
      where user_id = any(${users}::uuid[]) order by user_id, asset`),
    events: (
      await look(sql`select stream, envelope::text as envelope, page_events from event_pages
        where envelope->>'market' = ${world.market} order by id`)
    ).map(({ envelope, ...row }) => {
      const { id: _id, timestamp: _ts, ...rest } = JSON.parse(envelope as string) as Record<string, unknown>;
      return { ...row, envelope: rest };
    }),
    cursor: await look(
      sql`select last_seq::text, epoch from settlement_cursors where market = ${world.market}`,
    ),
  };
  await db.execute(sql`rollback to savepoint each_call`);
  return result;
}

class Rollback extends Error {}

/** Four users, ten orders of the market in various states, a cursor and a settled trade. */
async function inWorld(fn: (db: DbExecutor, world: World) => Promise<void>) {
  const market = await createMarket();
  await withDatabase(env, async (db) => {
    await db
      .transaction(async (tx) => {
        const text = typed0021.slice(typed0021.search(/CREATE OR REPLACE FUNCTION settle_page\(/));
        await tx.execute(
          sql.raw(text.replace(/FUNCTION settle_page\(/, "FUNCTION pg_temp.settle_page_0021(")),
        );
        const text0024 = columns0024.slice(columns0024.search(/CREATE FUNCTION settle_page\(/));
        await tx.execute(
          sql.raw(text0024.replace(/FUNCTION settle_page\(/, "FUNCTION pg_temp.settle_page_0024(")),
        );
        const { rows } = await tx.execute<{ id: string }>(sql`insert into users (email, first_name, last_name,
          password_hash, kyc_status) select 'sp-' || gen_random_uuid() || '@test.dev', 'S', 'P', 'x', 'verified'
          from generate_series(1, 4) returning id`);
        const users = rows.map((r) => r.id);
        // The last user's locked balances are small: a page's fills can run them negative.
        await tx.execute(sql`insert into balances (user_id, asset, available, locked)
          select u, a, 10::numeric ^ 12, case when n = 4 then 30000000 else 10::numeric ^ 12 end
          from unnest(${`{${users.join(",")}}`}::uuid[]) with ordinality x(u, n), unnest('{BTC,USDT}'::text[]) a`);
        const statuses = ["pending", "new", "partially_filled", "new", "filled"];
        const orders: WorldOrder[] = Array.from({ length: ORDERS }, (_, i) => ({
          id: newOrderId(),
          user: i % 4,
          buy: i % 2 === 0,
          status: statuses[i % statuses.length]!,
          // Buys lock quote (6 decimals), sells base; some locks too small for a large fill.
          locked: i % 2 === 0 ? (i === 6 ? 2_000_000n : 4n * 10n ** 12n) : i === 7 ? 300_000n : 2n * UNIT,
          consumed: i % 5 === 2 ? 1_000n : 0n,
          oco: i === 9,
        }));
        for (const o of orders) {
          await tx.execute(sql`insert into orders (id, user_id, market, side, type, time_in_force, price, quantity,
            status, lock_asset, locked_amount, consumed_amount, filled_quantity, filled_quote, oco_group_id,
            updated_at)
            values (${o.id}, ${users[o.user]}, ${market}, ${o.buy ? "buy" : "sell"}, 'limit', 'GTC', 1, ${UNIT},
              ${o.status}, ${o.buy ? "USDT" : "BTC"}, ${o.locked}, ${o.consumed}, ${o.consumed}, ${o.consumed},
              ${o.oco ? o.id : null}, ${UNTOUCHED})`);
        }
        const settledTrade = `${market}:settled`;
        await tx.execute(sql`insert into trades (market, trade_id, seq, price, quantity, quote_amount, taker_side,
          buy_order_id, sell_order_id, buyer_id, seller_id, buyer_fee, seller_fee, executed_at)
          values (${market}, ${settledTrade}, 1, 1, 1, 1, 'buy', ${orders[0]!.id}, ${orders[1]!.id},
            ${users[0]}, ${users[1]}, 0, 0, now())`);
        await tx.execute(
          sql`insert into settlement_cursors (market, last_seq, epoch) values (${market}, ${CURSOR}, ${EPOCH})`,
        );
        await fn(tx, { market, users, orders, settledTrade, initial: await ordersOf(tx, { orders }) });
        throw new Rollback();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Rollback)) throw err;
      });
  });
}

describe("settle_page over column arrays", () => {
  it("settles random pages exactly as 0021's settle_page over json", async () => {
    const outcomes = new Map<string, number>();
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: CURSOR + 2 }),
          fc.oneof({ weight: 20, arbitrary: fc.constant(EPOCH) }, fc.constant("epoch-b")),
          async (specs, first, epoch) => {
            const entries = pageOf(world, specs, first);
            const before = await callAndLook(db, world, settlePage0021(world, entries, epoch));
            const now = await callAndLook(db, world, settlePageNow(world, entries, epoch));
            // 0030 replaced 0024's body: the same answer and rows, updated_at included.
            expect(now).toEqual(await callAndLook(db, world, settlePage0024(world, entries, epoch)));
            const { orders: nowOrders = [], ...nowRest } = now;
            const { orders: beforeOrders = [], ...beforeRest } = before;
            expect(nowRest).toEqual(beforeRest);
            expect(nowOrders.map(unstamped)).toEqual(beforeOrders.map(unstamped));
            // 0024 leaves an order the page does not change as it was (0021 set its updated_at).
            for (const [i, o] of nowOrders.entries()) {
              const changed = JSON.stringify(unstamped(o)) !== JSON.stringify(unstamped(world.initial[i]!));
              expect(o.updated_at).toEqual(
                changed ? beforeOrders[i]!.updated_at : world.initial[i]!.updated_at,
              );
            }
            const answer = before.answer as { status?: string; reason?: string } | undefined;
            const kind = before.error
              ? `error ${before.error.code}`
              : `${answer!.status} ${answer!.reason ?? ""}`;
            outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
          },
        ),
        {
          numRuns: 300,
          endOnFailure: true,
          // Fixed pages first, so a break of the rewrite filter fails at once, not after
          // hundreds of random pages: the acceptance of a pending order alone (its row becomes
          // `new`) and of an order `new` already (its row stays untouched).
          examples: [
            [[{ t: "accepted", o: 0 }], CURSOR + 1, EPOCH],
            [[{ t: "accepted", o: 1 }], CURSOR + 1, EPOCH],
          ],
        },
      );
    });
    // The pages reached every path: settled, left to the planner, refused by Postgres, stale epoch.
    const kinds = [...outcomes.keys()];
    expect(outcomes.get("ok ")).toBeGreaterThan(30);
    expect(kinds.filter((k) => k.startsWith("fallback")).length).toBeGreaterThan(3);
    expect(kinds.some((k) => k.startsWith("error 23"))).toBe(true);
    expect(outcomes.get("epoch ")).toBeGreaterThan(0);
  }, 240_000);

  it("takes text as given, whatever its characters (the column arrays' quoting)", async () => {
    await inWorld(async (db, world) => {
      const reason = 'tab\t new\nline "quoted" back\\slash, {braces} NULL \u00e9 \ud83d\ude00';
      const entries = pageOf(world, [{ t: "done", o: 1, status: "cancelled", reason }], CURSOR + 1);
      const now = await callAndLook(db, world, settlePageNow(world, entries, EPOCH));
      expect(now.answer).toMatchObject({ status: "ok", entries: 1 });
      const events = (now.events![0]!.envelope as { events: unknown[][] }).events;
      expect(events).toEqual([["order.cancelled", world.users[1], world.orders[1]!.id, "cancelled", reason]]);
    });
  });
});
