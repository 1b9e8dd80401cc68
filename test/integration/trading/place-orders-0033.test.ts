import { sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockStatement } from "../../../durable-objects/market/funds-locker";
import {
  batchOf,
  callWith,
  expectSameLocks,
  expectWrittenInFlushOrder,
  failure,
  fencedCalls,
  inWorld,
  onRandomFlushes,
  placeOrders,
  placeOrders0029,
  specArb,
  unequalArrays,
  type Flush,
} from "./place-orders-world";

/**
 * 0033's `place_orders` (what the market object calls: funds-locker.ts `lockStatement`, the audit
 * fields by context and each details object once, durable-objects/market/lock-params.ts) against
 * 0029's, which the serving release calls while 0033 migrates: random mixed flushes (contexts
 * shared by placements near and far apart, another actor than the lock's user now and then, the
 * Worker's details and others, OCOs) give the same outcome per placement and leave the same rows,
 * the audit rows included, written in the flush's order. A call whose placements name a context
 * or details it does not carry fails with SQLSTATE 22023 before it writes anything. Each test
 * runs in one transaction that is rolled back.
 */

/** `n` elements of `x`, as a Postgres array literal. */
const filled = (n: number, x: string) => `{${Array.from({ length: n }, () => x).join(",")}}`;

/** A call malformed past what the arguments can say, and the reason Postgres gives. */
const MALFORMED: {
  what: string;
  call: (batch: Flush) => ReturnType<typeof lockStatement>;
  reason: RegExp;
}[] = [
  {
    what: "a placement naming a context past the last",
    call: (batch) => callWith(lockStatement(batch), { f_context: filled(batch.length, "1000") }),
    reason: /f_context and f_detail must name an element/,
  },
  {
    what: "a placement naming no context",
    call: (batch) => callWith(lockStatement(batch), { f_context: filled(batch.length, "NULL") }),
    reason: /f_context and f_detail must name an element/,
  },
  {
    what: "a placement naming details past the last",
    call: (batch) => callWith(lockStatement(batch), { f_detail: filled(batch.length, "-1") }),
    reason: /f_context and f_detail must name an element/,
  },
  {
    what: "no details at all",
    call: (batch) => callWith(lockStatement(batch), { f_details: "{}" }),
    reason: /f_context and f_detail must name an element/,
  },
  {
    what: "a per-context array longer",
    call: (batch) => callWith(lockStatement(batch), { f_request_id: filled(1000, "x") }),
    reason: /per-context arrays/,
  },
  {
    what: "a per-placement array (f_detail) one longer",
    call: (batch) => callWith(lockStatement(batch), { f_detail: filled(batch.length + 1, "0") }),
    reason: /per-placement arrays must all have/,
  },
  ...unequalArrays(lockStatement),
];

describe("place_orders (0033) against 0029", () => {
  it("decides and writes as 0029 on random mixed flushes, audit rows included", async () => {
    await onRandomFlushes(placeOrders0029, placeOrders, expectSameLocks);
  }, 120_000);

  it("writes the orders and the audit rows in the flush's order", () =>
    expectWrittenInFlushOrder(placeOrders));

  it("fails a call naming a context or details it does not carry (22023), writing nothing", async () => {
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(specArb, { minLength: 1, maxLength: 20 }),
          fc.constantFrom(...MALFORMED),
          async (specs, { what, call, reason }) => {
            const batch = batchOf(world, specs) as Flush;
            const { rows: before } = await db.execute<{ n: string }>(
              sql`select (select count(*) from orders) + (select count(*) from audit_logs) as n`,
            );
            const err = await failure(db, call(batch));
            expect({ what, code: err?.code }).toEqual({ what, code: "22023" });
            expect(err?.message, what).toMatch(reason);
            const { rows: after } = await db.execute<{ n: string }>(
              sql`select (select count(*) from orders) + (select count(*) from audit_logs) as n`,
            );
            expect(after[0]!.n).toBe(before[0]!.n);
          },
        ),
        { numRuns: 40, endOnFailure: true },
      );
    });
  }, 120_000);

  it("passes the market's lock fence first, and fails a call with a row of another market (22023)", () =>
    fencedCalls(lockStatement));
});
