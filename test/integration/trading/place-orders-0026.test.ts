import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  lockArguments0026,
  lockStatement0026 as lockStatement,
} from "../../../bench/trading/place-orders-0026";
import type { PlacementFunding } from "../../../src/domain/market/commands";
import { newOrderId } from "../../../src/domain/market/order-id";
import {
  callAndLook,
  callWith,
  failure,
  inWorld,
  placement,
  placeOrders0026 as placeOrders,
  placeOrders0020,
  onRandomFlushes,
  type Outcome,
} from "./place-orders-world";

/**
 * 0026's `place_orders` (fenced, its arguments checked; the serving release's while 0027 migrates)
 * against 0020's, which the release before called: random mixed flushes give the same outcome per placement and leave
 * the same rows. A malformed call fails with SQLSTATE 22023 before it writes anything; the fence
 * inside the call refuses an old epoch as pass_lock_fence did. Each test runs in one transaction
 * that is rolled back.
 */

describe("place_orders (0026) against 0020", () => {
  it("decides and writes as 0020 on random mixed flushes", async () => {
    await onRandomFlushes(placeOrders0020, placeOrders, ({ before, now }) => {
      // A lock's version is its posting's id, from a sequence a rollback does not rewind.
      const answer = ({ version: _v, ...o }: Outcome) => o;
      expect(now.outcomes.map(answer)).toEqual(before.outcomes.map(answer));
      const versions = (o: Outcome[]) => o.map((x) => (x.version === undefined ? "-" : "v"));
      expect(versions(now.outcomes)).toEqual(versions(before.outcomes));
      const { outcomes: _n, ...rowsNow } = now;
      const { outcomes: _b, ...rowsBefore } = before;
      expect(rowsNow).toEqual(rowsBefore);
    });
  }, 120_000);

  it("fails a call whose arrays do not fit together (22023), writing nothing", async () => {
    await inWorld(async (db, world) => {
      const [u0, u1] = world.users as [string, string];
      const a = placement(u0, "USDT", "10", newOrderId(), "ca", false);
      const b = placement(u1, "BTC", "20", newOrderId(), null, true); // an OCO: two rows
      const batch = [a, b] as PlacementFunding[];
      const [aId, bId] = [a.rows[0]!.id, b.rows[0]!.id];
      const malformed: [string, Record<string, string | null>, RegExp][] = [
        ["a short per-placement array", { f_lock_amount: "{10}" }, /per-placement arrays must all have 2/],
        ["a long per-row array", { f_price: "{1,2,3,4}" }, /per-row arrays 3/],
        ["a null array", { f_details: null }, /per-placement arrays/],
        ["rows out of placement order", { f_p: "{1,0,1}" }, /f_p must number the placements/],
        ["a placement without rows", { f_p: "{0,0,0}" }, /f_p must number/],
        ["a row of no placement", { f_p: "{0,1,2}" }, /f_p must number/],
        ["a null placement", { f_p: "{0,NULL,1}" }, /f_p must number/],
        ["an id that is not its first row's", { f_id: `{${aId},${b.rows[1]!.id}}` }, /placement [01] names/],
        ["ids swapped", { f_id: `{${bId},${aId}}` }, /placement [01] names/],
        ["a client id that is not its first row's", { f_coid: "{cb,NULL}" }, /placement [01] names/],
        ["a client id its first row does not have", { f_coid: "{ca,cb}" }, /placement [01] names/],
      ];
      for (const [what, arrays, reason] of malformed) {
        const err = await failure(db, callWith(lockStatement(batch), arrays));
        expect({ what, code: err?.code }).toEqual({ what, code: "22023" });
        expect(err?.message, what).toMatch(reason);
      }
      // Nothing of the refused calls was written; the same flush as the object sends it goes through.
      const { outcomes, orders } = await callAndLook(db, placeOrders, world, batch);
      expect(outcomes.map((o) => o.outcome)).toEqual(["locked", "locked"]);
      expect(orders).toHaveLength(3);
    });
  });

  it("passes the market's lock fence first: the mark below its orders, an old epoch refused", async () => {
    await inWorld(async (db, world) => {
      const market = `FENCE-${newOrderId()}`; // not a real market: no market object waits on its row
      await db.execute(sql`insert into market_lock_fences (market, epoch) values (${market}, 7)`);
      const flush = () =>
        [placement(world.users[0]!, "USDT", "10", newOrderId(), null, false)] as PlacementFunding[];
      const passing = flush();
      const { rows } = await db.execute<{ r: { mark: number; r: Outcome[] } }>(
        lockStatement(passing, { market, epoch: 7 }),
      );
      const { mark, r } = rows[0]!.r;
      expect(r.map((o) => o.outcome)).toEqual(["locked"]);
      const { rows: numbers } = await db.execute<{ number: string }>(
        sql`select number::text from orders where id = ${passing[0]!.rows[0]!.id}`,
      );
      expect(Number(numbers[0]!.number)).toBeGreaterThan(mark);

      const refused = flush();
      const err = await failure(db, lockStatement(refused, { market, epoch: 6 }));
      expect(err).toMatchObject({ code: "55P03" });
      expect(err?.message).toMatch(/fenced off epoch 6/);
      const { rows: none } = await db.execute(
        sql`select 1 from orders where id = ${refused[0]!.rows[0]!.id}`,
      );
      expect(none).toHaveLength(0);
      // Without a fence there is no mark.
      const { rows: unfenced } = await db.execute<{ r: { mark: number | null } }>(lockStatement(flush()));
      expect(unfenced[0]!.r.mark).toBeNull();
      // 0020's call with 0022's fence, as the serving release makes it, still works beside it.
      const { rows: old } = await db.execute<{ r: Outcome[]; mark: string }>(
        sql`select place_orders(${lockArguments0026(flush())}) as r, f.mark from pass_lock_fence(${market}, 7::bigint) f(mark)`,
      );
      expect(old[0]!.r.map((o) => o.outcome)).toEqual(["locked"]);
    });
  });
});
