import { PgDialect } from "drizzle-orm/pg-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockQuery, lockStatement } from "../../../durable-objects/market/funds-locker";
import type { PlacementFunding } from "../../../src/domain/market/commands";

// The funds lock the market object sends (`lockQuery`, built without drizzle) is the statement
// the place_orders tests run through drizzle (`lockStatement`): the same text, the same values.

const dialect = new PgDialect();
const text = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("NULL", '"', "\\", "a,b"));
const nullable = fc.option(text, { nil: null });

const placement: fc.Arbitrary<PlacementFunding> = fc
  .record({
    user: fc.uuid(),
    asset: fc.constantFrom("BTC", "USDT"),
    amount: fc.bigInt({ min: 1n, max: 10n ** 30n }).map(String),
    ids: fc.array(fc.uuid(), { minLength: 1, maxLength: 2 }),
    clientOrderId: nullable,
    side: fc.constantFrom("buy", "sell"),
    price: fc.option(fc.bigInt({ min: 1n, max: 10n ** 20n }).map(String), { nil: null }),
    trailing: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null }),
    postOnly: fc.boolean(),
    actorType: fc.constantFrom("user" as const, "api_key" as const),
    ip: nullable,
    userAgent: nullable,
    requestId: nullable,
    details: fc.dictionary(fc.string(), fc.oneof(text, fc.integer())),
  })
  .map((p) => ({
    rows: p.ids.map((id, r) => ({
      id,
      user_id: p.user,
      market: "BTC-USDT",
      client_order_id: r === 0 ? p.clientOrderId : null,
      side: p.side,
      type: "limit",
      time_in_force: "gtc",
      post_only: p.postOnly,
      self_trade_prevention: "cancel_newest",
      price: p.price,
      stop_price: null,
      quantity: "100",
      quote_quantity: null,
      visible_quantity: null,
      trailing_offset: p.trailing,
      trailing_offset_unit: p.trailing === null ? null : "bps",
      oco_group_id: p.ids.length > 1 ? p.ids[0]! : null,
      lock_asset: p.asset,
      locked_amount: r === 0 ? p.amount : "0",
    })),
    lock: { user_id: p.user, asset: p.asset, amount: p.amount },
    audit: {
      actor_id: p.user,
      actor_type: p.actorType,
      ip_address: p.ip,
      user_agent: p.userAgent,
      request_id: p.requestId,
      details: p.details,
    },
  }));

describe("lockQuery", () => {
  it("is lockStatement as drizzle sends it, fenced or not", () => {
    fc.assert(
      fc.property(
        fc.array(placement, { minLength: 1, maxLength: 8 }),
        fc.option(fc.record({ market: fc.string(), epoch: fc.integer() }), { nil: undefined }),
        (placements, fence) => {
          const drizzle = dialect.sqlToQuery(lockStatement(placements, fence && { ...fence }));
          const query = lockQuery(placements, fence && { ...fence });
          expect(query.text).toBe(drizzle.sql);
          expect(query.values).toEqual(drizzle.params);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a row lockStatement refuses, with the same error", () => {
    const [p] = fc.sample(placement, 1) as [PlacementFunding];
    const stray = { ...p, rows: [{ ...p.rows[0]!, colour: "red" }] };
    const other = { ...p, rows: [{ ...p.rows[0]!, lock_asset: "ETH" }] };
    for (const bad of [stray, other]) {
      expect(() => lockQuery([bad])).toThrow();
      expect(() => lockQuery([bad])).toThrow(
        (() => {
          try {
            lockStatement([bad]);
          } catch (err) {
            return (err as Error).message;
          }
          return "lockStatement did not throw";
        })(),
      );
    }
  });
});
