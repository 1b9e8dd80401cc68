import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockStatement0029 as lockStatement } from "../../../bench/trading/place-orders-0029";
import { newOrderId } from "../../../src/domain/market/order-id";
import {
  batchOf,
  callAndLook,
  callWith,
  expectSameLocks,
  expectWrittenInFlushOrder,
  failure,
  fencedCalls,
  inWorld,
  onRandomFlushes,
  placeOrders0029 as placeOrders,
  placeOrders0027,
  specArb,
  unequalArrays,
  withPlacement,
  type Flush,
} from "./place-orders-world";

/**
 * 0029's `place_orders` (what the market object called before 0033: bench/trading/place-orders-0029.ts)
 * against 0027's, which the serving release called while 0029 migrated: random mixed flushes give the
 * same outcome per placement and leave the same rows, the orders numbered in the flush's order.
 * What 0027 refused in Postgres and 0029 cannot be sent (a row's user, lock asset and locked
 * amount, taken from its lock) is refused before the call; the rest of a malformed call fails
 * with SQLSTATE 22023 before it writes anything. Each test runs in one transaction that is rolled back.
 */

/** A row that is not its lock's, on any flush (`k`: which placement), and what the refusal says. */
const NOT_THE_LOCKS: { what: string; flush: (batch: Flush, k: number) => Flush; reason: RegExp }[] = [
  {
    what: "a first row that does not carry its lock's amount",
    flush: (batch, k) =>
      withPlacement(batch, k, (f) => ({
        ...f,
        rows: [{ ...f.rows[0]!, locked_amount: `${f.lock.amount}1` }, ...f.rows.slice(1)],
      })),
    reason: /row 0 has locked_amount -?\d+1, its lock -?\d+$/,
  },
  {
    what: "a later row (an OCO's stop leg) that carries an amount",
    flush: (batch, k) =>
      withPlacement(batch, k, (f) => ({
        ...f,
        rows: [f.rows[0]!, { ...f.rows[0]!, id: newOrderId(), client_order_id: null, locked_amount: "1" }],
      })),
    reason: /row 1 has locked_amount 1, its lock 0$/,
  },
  {
    what: "a row of another asset",
    flush: (batch, k) =>
      withPlacement(batch, k, (f) => ({
        ...f,
        rows: f.rows.map((r) => ({ ...r, lock_asset: f.lock.asset === "BTC" ? "USDT" : "BTC" })),
      })),
    reason: /row 0 has lock_asset \w+, its lock \w+$/,
  },
  {
    what: "a row of another user",
    flush: (batch, k) =>
      withPlacement(batch, k, (f) => ({ ...f, rows: f.rows.map((r) => ({ ...r, user_id: newOrderId() })) })),
    reason: /row 0 has user_id [\w-]+, its lock [\w-]+$/,
  },
];

/** A call malformed past what the arguments can say, and the reason Postgres gives. */
const MALFORMED: {
  what: string;
  call: (batch: Flush) => ReturnType<typeof lockStatement>;
  reason: RegExp;
}[] = [
  {
    what: "a leading row numbered -1",
    call: (batch) => {
      // Placement 0 given one more row in front (its lock's amount on it), then numbered "before placement 0".
      const longer = withPlacement(batch, 0, (f) => ({
        ...f,
        rows: [
          { ...f.rows[0]!, id: newOrderId() },
          { ...f.rows[0]!, locked_amount: "0" },
          ...f.rows.slice(1),
        ],
      }));
      const p = batch.flatMap((f, i) => f.rows.map(() => i));
      return callWith(lockStatement(longer), { f_p: `{-1,${p.join(",")}}` });
    },
    reason: /f_p must number the placements/,
  },
  ...unequalArrays(lockStatement),
];

describe("place_orders (0029) against 0027", () => {
  it("decides and writes as 0027 on random mixed flushes, the orders numbered in the flush's order", async () => {
    await onRandomFlushes(placeOrders0027, placeOrders, expectSameLocks);
    await expectWrittenInFlushOrder(placeOrders);
  }, 120_000);

  it("refuses a row that is not its lock's before the call, and fails a malformed call (22023) writing nothing", async () => {
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 20 }),
          fc.nat(),
          fc.constantFrom(...NOT_THE_LOCKS),
          async (specs, pick, { what, flush, reason }) => {
            const batch = batchOf(world, specs) as Flush;
            expect(() => lockStatement(flush(batch, pick % batch.length)), what).toThrow(reason);
          },
        ),
        { numRuns: 60, endOnFailure: true },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 20 }),
          fc.constantFrom(...MALFORMED),
          async (specs, { what, call, reason }) => {
            const batch = batchOf(world, specs) as Flush;
            const err = await failure(db, call(batch));
            expect({ what, code: err?.code }).toEqual({ what, code: "22023" });
            expect(err?.message, what).toMatch(reason);
          },
        ),
        { numRuns: 40, endOnFailure: true },
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
