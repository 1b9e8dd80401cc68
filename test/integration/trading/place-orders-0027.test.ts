import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockStatement0027 as lockStatement } from "../../../bench/trading/place-orders-0027";
import { newOrderId } from "../../../src/domain/market/order-id";
import {
  batchOf,
  callAndLook,
  callWith,
  expectSameLocks,
  failure,
  fencedCalls,
  inWorld,
  onRandomFlushes,
  placeOrders0027 as placeOrders,
  placeOrders0026,
  specArb,
  unequalArrays,
  withPlacement,
  type Flush,
} from "./place-orders-world";

/**
 * 0027's `place_orders` (a compact answer, read by funds-locker.ts `lockOutcomes`) against 0026's,
 * which the serving release called while 0027 migrated: random mixed flushes give the same outcome
 * per placement (0026's created_at aside: nobody reads it) and leave the same rows. A malformed
 * call, well-formed but for one thing, fails with SQLSTATE 22023 before it writes anything. Each
 * test runs in one transaction that is rolled back.
 */

/** One way to get a call wrong, on any flush (`k`: which placement), and the reason Postgres gives. */
const MALFORMED: {
  what: string;
  call: (batch: Flush, k: number) => ReturnType<typeof lockStatement>;
  reason: RegExp;
}[] = [
  {
    what: "a first row that does not carry its lock's amount",
    call: (batch, k) =>
      lockStatement(
        withPlacement(batch, k, (f) => ({
          ...f,
          rows: [{ ...f.rows[0]!, locked_amount: `${f.lock.amount}1` }, ...f.rows.slice(1)],
        })),
      ),
    reason: /placement \d+ locks .*, its row \d+ carries/,
  },
  {
    what: "a later row (an OCO's stop leg) that carries an amount",
    call: (batch, k) =>
      lockStatement(
        withPlacement(batch, k, (f) => ({
          ...f,
          rows: [f.rows[0]!, { ...f.rows[0]!, id: newOrderId(), client_order_id: null, locked_amount: "1" }],
        })),
      ),
    reason: /placement \d+ locks .*, its row \d+ carries 1$/,
  },
  {
    what: "a leading row numbered -1",
    call: (batch) => {
      // Placement 0 given one more row in front, then numbered "before placement 0".
      const longer = withPlacement(batch, 0, (f) => ({
        ...f,
        rows: [{ ...f.rows[0]!, id: newOrderId() }, ...f.rows],
      }));
      const p = batch.flatMap((f, i) => f.rows.map(() => i));
      return callWith(lockStatement(longer), { f_p: `{-1,${p.join(",")}}` });
    },
    reason: /f_p must number the placements/,
  },
  ...unequalArrays(lockStatement),
];

describe("place_orders (0027) against 0026", () => {
  it("decides and writes as 0026 on random mixed flushes, its answer read as the object reads it", async () => {
    await onRandomFlushes(placeOrders0026, placeOrders, (both) => expectSameLocks(both, ["created_at"]));
  }, 120_000);

  it("fails a malformed call (22023) on random flushes, writing nothing", async () => {
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 20 }),
          fc.nat(),
          fc.constantFrom(...MALFORMED),
          async (specs, pick, { what, call, reason }) => {
            const batch = batchOf(world, specs) as Flush;
            const err = await failure(db, call(batch, pick % batch.length));
            expect({ what, code: err?.code }).toEqual({ what, code: "22023" });
            expect(err?.message, what).toMatch(reason);
          },
        ),
        { numRuns: 60, endOnFailure: true },
      );
      // The refused calls left nothing: a flush with a known id of the ones refused goes through.
      const batch = batchOf(world, [
        { user: 0, asset: 1, amount: 10, id: -1, coid: "z", oco: true },
      ]) as Flush;
      const { outcomes, orders } = await callAndLook(db, placeOrders, world, batch);
      expect(outcomes.map((o) => o.outcome)).toEqual(["locked"]);
      expect(orders).toHaveLength(2);
    });
  }, 120_000);

  it("passes the market's lock fence first, and fails a call with a row of another market (22023)", () =>
    fencedCalls(lockStatement));
});
