import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { lockArguments } from "../../../durable-objects/market/funds-locker";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import {
  ASSETS,
  callAndLook,
  inWorld,
  type Outcome,
  placement,
  placeOrders,
  placeOrders0005,
  onRandomFlushes,
} from "./place-orders-world";

/**
 * The set-based `place_orders` (migrations 0015, then 0017; since 0020 over a flush given as
 * column arrays; since 0026 fenced and checked, called as the market object calls it) against its row-at-a-time
 * predecessor (0005, loaded here as `pg_temp.place_orders_0005`): on random mixed batches —
 * several users and assets, amounts that run a balance dry mid-batch or are not positive, ids
 * and client_order_ids repeated inside the batch or already known to Postgres, OCO pairs — both
 * give the same outcome per placement and leave the same order rows, balances, audit rows and
 * sums of lock postings. What 0015 changes on purpose: one lock entry (two postings) per balance
 * row and flush, not per placement, so every lock of a row in the flush reports the balance the
 * flush left and one version; 0017 names each order of the entry with its amount in the
 * entry's metadata. Everything runs in one transaction that is rolled back.
 */

describe("place_orders (set-based)", () => {
  it("decides and writes exactly as the row-at-a-time version on random mixed batches", async () => {
    await onRandomFlushes(placeOrders0005, placeOrders, ({ world, specs, batch, before, now }) => {
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
      // A row's user and lock asset are its lock's (0029 takes them from the lock): any other is
      // refused before the call, as 0027 refused it in Postgres.
      expect(() => placeOrders([good, withRow({ lock_asset: "BTC" })])).toThrow(
        /lock_asset BTC, its lock USDT/,
      );
      expect(() => placeOrders([good, withRow({ user_id: u1 })])).toThrow(
        new RegExp(`user_id ${u1}, its lock ${u0}`),
      );
      // Nothing of the refused calls was written; the good placement alone goes through.
      const { outcomes, orders } = await callAndLook(db, placeOrders, world, [good]);
      expect(outcomes.map((o) => o.outcome)).toEqual(["locked"]);
      expect(orders).toHaveLength(1);
    });
  });
});
