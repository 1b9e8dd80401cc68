import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { placementLockParams, ROW_PARAMS, rowLockParams } from "../../../durable-objects/market/lock-params";
import type { PlacementFunding } from "../../../src/domain/market/commands";

// place_orders (0033) takes the audit fields by context and each details object once: read back
// per placement, the arguments give every placement its own audit fields and details, each
// context and details object once. (Against the real Postgres: place-orders-0033.test.ts.)

const USERS = ["0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"];
const text = fc.constantFrom(null, "203.0.113.7", "ccxt/4", 'a "quoted", {one}', "ünï");

const placement: fc.Arbitrary<PlacementFunding> = fc
  .record({
    user: fc.constantFrom(...USERS),
    otherActor: fc.boolean(),
    actorType: fc.constantFrom("user" as const, "api_key" as const),
    ip: text,
    userAgent: text,
    requestId: fc.constantFrom(null, "f:1", "f:2"),
    side: fc.constantFrom("buy", "sell"),
    details: fc.option(fc.dictionary(fc.constantFrom("market", "side", "x"), text), { nil: undefined }),
  })
  .map((p) => ({
    rows: [],
    lock: { user_id: p.user, asset: "USDT", amount: "10" },
    audit: {
      actor_id: p.otherActor ? USERS[1]! : p.user,
      actor_type: p.actorType,
      ip_address: p.ip,
      user_agent: p.userAgent,
      request_id: p.requestId,
      details: p.details ?? { market: "BTC-USDT", side: p.side, type: "limit" },
    },
  }));

/** An argument read back: arrayLiteral writes JSON's array (no backslash drawn here, which it would quote). */
const read = (params: ReturnType<typeof placementLockParams>, name: string): unknown[] =>
  JSON.parse(`[${params.find(([n]) => n === name)![2].slice(1, -1)}]`) as unknown[];

describe("placementLockParams", () => {
  it("gives each placement its audit fields and details, each context and details object once", () => {
    fc.assert(
      fc.property(fc.array(placement, { minLength: 1, maxLength: 40 }), (placements) => {
        const params = placementLockParams(placements);
        const [context, detail, actor, type, ip, agent, request, details, user] = [
          "context",
          "detail",
          "actor_id",
          "actor_type",
          "ip_address",
          "user_agent",
          "request_id",
          "details",
          "lock_user",
        ].map((name) => read(params, name));
        placements.forEach((f, i) => {
          const c = context![i] as number;
          expect(user![i]).toBe(f.lock.user_id);
          expect([actor![c] ?? user![i], type![c], ip![c], agent![c], request![c]]).toEqual([
            f.audit.actor_id,
            f.audit.actor_type,
            f.audit.ip_address,
            f.audit.user_agent,
            f.audit.request_id,
          ]);
          expect(JSON.parse(details![detail![i] as number] as string)).toEqual(f.audit.details);
        });
        const contexts = actor!.map((a, c) => JSON.stringify([a, type![c], ip![c], agent![c], request![c]]));
        expect(new Set(contexts).size).toBe(contexts.length);
        expect(new Set(details).size).toBe(details!.length);
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same arguments whether placements share their details objects or each has a copy", () => {
    fc.assert(
      fc.property(fc.array(placement, { minLength: 1, maxLength: 40 }), (placements) => {
        // As placement.ts hands them out: one object for equal details.
        const shared = new Map<string, PlacementFunding["audit"]["details"]>();
        const sharing = placements.map((f) => {
          const json = JSON.stringify(f.audit.details);
          if (!shared.has(json)) shared.set(json, f.audit.details);
          return { ...f, audit: { ...f.audit, details: shared.get(json)! } };
        });
        expect(placementLockParams(sharing)).toEqual(placementLockParams(placements));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a placement without an actor (it would read as the lock's user)", () => {
    const f = fc.sample(placement, 1)[0]!;
    const anonymous = { ...f, audit: { ...f.audit, actor_id: null as unknown as string } };
    expect(() => placementLockParams([f, anonymous])).toThrow(/placement 1 has no actor/);
  });
});

describe("rowLockParams", () => {
  const row = fc.record({
    id: fc.uuid(),
    client_order_id: fc.option(fc.constantFrom("c-1", 'q "x"', "ünï"), { nil: null }),
    side: fc.constantFrom("buy", "sell"),
    price: fc.option(fc.bigInt({ min: 1n, max: 10n ** 20n }).map(String), { nil: null }),
    post_only: fc.boolean(),
    trailing_offset: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null }),
  });
  const placements = fc.array(
    fc.record({ user: fc.constantFrom(...USERS), rows: fc.array(row, { minLength: 1, maxLength: 3 }) }),
    { minLength: 1, maxLength: 30 },
  );

  it("gives each row its placement's index and its columns, in order, a missing column as null", () => {
    fc.assert(
      fc.property(placements, (drawn) => {
        const flush: PlacementFunding[] = drawn.map((d) => ({
          rows: d.rows.map((r, k) => ({
            ...r,
            user_id: d.user,
            lock_asset: "USDT",
            locked_amount: k ? "0" : "10",
          })),
          lock: { user_id: d.user, asset: "USDT", amount: "10" },
          audit: {
            actor_id: d.user,
            actor_type: "user",
            ip_address: null,
            user_agent: null,
            request_id: null,
            details: {},
          },
        }));
        const params = rowLockParams(flush, ROW_PARAMS);
        const rows = flush.flatMap((f, i) => f.rows.map((r) => ({ i, r })));
        expect(read(params, "p")).toEqual(rows.map(({ i }) => i));
        for (const [column, [name]] of Object.entries(ROW_PARAMS)) {
          expect(read(params, name)).toEqual(rows.map(({ r }) => r[column] ?? null));
        }
      }),
      { numRuns: 300 },
    );
  });
});
