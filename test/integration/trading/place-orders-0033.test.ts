import { sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockStatement } from "../../../durable-objects/market/funds-locker";
import {
  batchOf,
  callWith,
  failure,
  fencedCalls,
  inWorld,
  onRandomFlushes,
  placeOrders,
  placeOrders0029,
  specArb,
  unequalArrays,
  type Flush,
  type Outcome,
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
    await onRandomFlushes(placeOrders0029, placeOrders, ({ before, now }) => {
      // A lock's version is its posting's id, from a sequence a rollback does not rewind.
      const answer = ({ version: _v, ...o }: Outcome) => o;
      expect(now.outcomes.map(answer)).toEqual(before.outcomes.map(answer));
      const versions = (o: Outcome[]) => o.map((x) => (x.version === undefined ? "-" : "v"));
      expect(versions(now.outcomes)).toEqual(versions(before.outcomes));
      const sameVersion = (o: Outcome[]) =>
        o.map((x) => o.findIndex((y) => y.version === x.version && x.version));
      expect(sameVersion(now.outcomes)).toEqual(sameVersion(before.outcomes));
      const { outcomes: _n, ...rowsNow } = now;
      const { outcomes: _b, ...rowsBefore } = before;
      expect(rowsNow).toEqual(rowsBefore);
    });
  }, 120_000);

  it("writes the orders and the audit rows in the flush's order", async () => {
    await inWorld(async (db, world) => {
      await fc.assert(
        fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 30 }), async (specs) => {
          const batch = batchOf(world, specs) as Flush;
          await db.execute(sql`savepoint each_batch`);
          const { rows: top } = await db.execute<{ n: string; a: string }>(
            sql`select coalesce(max(number), 0)::text as n, (select coalesce(max(id), 0) from audit_logs)::text as a from orders`,
          );
          const { rows: answer } = await db.execute<{ r: { o: number[] } }>(placeOrders(batch));
          const locked = batch.filter((_, i) => answer[0]!.r.o[i]! >= 0);
          const { rows } = await db.execute<{ id: string }>(
            sql`select id::text from orders where number > ${top[0]!.n}::bigint order by number`,
          );
          expect(rows.map((r) => r.id)).toEqual(locked.flatMap((f) => f.rows.map((r) => r.id)));
          const { rows: audit } = await db.execute<{ resource: string }>(
            sql`select resource_id as resource from audit_logs where id > ${top[0]!.a}::bigint order by id`,
          );
          expect(audit.map((r) => r.resource)).toEqual(locked.map((f) => f.rows[0]!.id));
          await db.execute(sql`rollback to savepoint each_batch`);
        }),
        { numRuns: 40, endOnFailure: true },
      );
    });
  }, 120_000);

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
