import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { eventPages, settlementQuarantine } from "../../../src/db/schema";
import { orderBook } from "../../../src/services/trading/market-directory";
import { api } from "../auth/helpers";
import { oco, placed, placeOrder, settle, tradingFloor, type Trader } from "../trading/helpers";

/**
 * The market object's own settler, pipelining its pages (docs/decisions/0025), under a mixed load
 * sent in concurrent waves: fills, amendments and OCO pairs (pages settle_page leaves to the
 * planner), cancels (which settle themselves, waiting for the cursor) and a cron-like settler
 * beside it. However the pages interleave, every trader's money ends exactly where their fills and
 * open orders say (locked = what open orders reserve, each asset conserved with the fees), nothing
 * quarantined, the outbox drained.
 */

type Op =
  | { kind: "limit"; who: number; side: "buy" | "sell"; price: number; quantity: number }
  | { kind: "amend"; who: number; higher: boolean }
  | { kind: "cancel"; who: number }
  | { kind: "place-and-cancel"; who: number }
  | { kind: "oco"; who: number }
  | { kind: "settle" };

const PRICES = [49_900, 50_000, 50_100];

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("limit" as const),
      who: fc.integer({ min: 0, max: 3 }),
      side: fc.constantFrom("buy" as const, "sell" as const),
      price: fc.constantFrom(...PRICES),
      quantity: fc.integer({ min: 1, max: 8 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("amend" as const),
      who: fc.integer({ min: 0, max: 3 }),
      higher: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("cancel" as const), who: fc.integer({ min: 0, max: 3 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("oco" as const), who: fc.integer({ min: 2, max: 3 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "settle" as const }) },
);

describe("the object's pipelined settler under a mixed load", () => {
  it("leaves every trader's money exact, nothing quarantined, whatever the interleaving", async () => {
    const seen = { fills: 0, amended: 0, cancelled: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 3, maxLength: 8 }), { minLength: 4, maxLength: 8 }),
        // Where each run also places an order nothing can fill and cancels it while it is open:
        // the random cancels may all meet orders already filled (a run of CI's drew none that
        // hit an open one). A seller's: its bitcoin outlasts any run (the buyers' dollars may not).
        fc.record({ wave: fc.nat(), who: fc.integer({ min: 2, max: 3 }) }),
        async (randomWaves, openCancel) => {
          const waves = randomWaves.map((wave, w) =>
            w === openCancel.wave % randomWaves.length
              ? [...wave, { kind: "place-and-cancel" as const, who: openCancel.who }]
              : wave,
          );
          const floor = await tradingFloor({
            b1: { USDT: "5000" },
            b2: { USDT: "5000" },
            s1: { BTC: "1" },
            s2: { BTC: "1" },
          });
          const { market } = floor;
          const traders: Trader[] = [floor.b1, floor.b2, floor.s1, floor.s2];
          /** Limit orders each trader placed (the cancel targets; some filled or gone). */
          const placedBy: string[][] = [[], [], [], []];
          // Each trader's order resting far from the others' (buyers at 40,000, sellers at 60,000):
          // the amendments' target, open throughout.
          const far = (who: number, higher: boolean) => (who < 2 ? 40_000 : 60_000) + (higher ? 1_000 : 0);
          const resting: string[] = [];
          for (const [who, t] of traders.entries()) {
            const { order } = await placed(t, {
              market,
              side: who < 2 ? "buy" : "sell",
              type: "limit",
              price: `${far(who, false)}.00`,
              quantity: "0.005",
            });
            resting.push(order.id!);
          }
          const statuses: number[] = [];
          const pick = (who: number, i: number) => placedBy[who]![i % Math.max(1, placedBy[who]!.length)];
          const amending: Promise<unknown>[] = traders.map(() => Promise.resolve());
          const amendOne = (who: number, body: Record<string, string>) => {
            const res = amending[who]!.then(() =>
              api("PATCH", `/api/v1/orders/${resting[who]}`, { token: traders[who]!.token, body }),
            );
            amending[who] = res.catch(() => {});
            return res;
          };
          const cancelOne = async (who: number, id: string) => {
            const res = await api("DELETE", `/api/v1/orders/${id}`, { token: traders[who]!.token });
            statuses.push(res.status);
            if (res.status === 200) seen.cancelled++;
          };
          const run = async (o: Op, i: number) => {
            switch (o.kind) {
              case "limit": {
                // Buyers buy and sellers sell: the funds each side brought.
                const side = o.who < 2 ? "buy" : "sell";
                const res = await placeOrder(traders[o.who]!, {
                  market,
                  side,
                  type: "limit",
                  price: `${o.price}.00`,
                  quantity: `0.00${o.quantity}`,
                });
                statuses.push(res.status);
                const json = (await res.json()) as { order?: { id?: string }; fills?: unknown[] };
                if (json.order?.id) placedBy[o.who]!.push(json.order.id);
                seen.fills += json.fills?.length ?? 0;
                return;
              }
              case "amend": {
                // One amendment of an order at a time (a second one meanwhile may be refused).
                const res = await amendOne(o.who, { price: `${far(o.who, o.higher)}.00` });
                statuses.push(res.status);
                if (res.status === 200) seen.amended++;
                return;
              }
              case "cancel": {
                const id = pick(o.who, i);
                if (id) await cancelOne(o.who, id);
                return;
              }
              case "place-and-cancel": {
                // Above every buyer's price (at most 50,100; the amended ones 41,000).
                const res = await placeOrder(traders[o.who]!, {
                  market,
                  side: "sell",
                  type: "limit",
                  price: "70000.00",
                  quantity: "0.001",
                });
                statuses.push(res.status);
                const json = (await res.json()) as { order?: { id?: string } };
                expect(json.order?.id).toBeDefined();
                await cancelOne(o.who, json.order!.id!);
                return;
              }
              case "oco":
                await oco(traders[o.who]!, {
                  market,
                  side: "sell",
                  price: "65000.00",
                  stop_price: "40000.00",
                  quantity: "0.001",
                });
                return;
              case "settle":
                await settle(market);
                return;
            }
          };
          for (const wave of waves) await Promise.all(wave.map((o, i) => run(o, i)));
          // No request failed as a server error (a refused amendment or cancel is a 4xx).
          expect(statuses.filter((s) => s >= 500)).toEqual([]);
          // Drained: the object's settler (and a last settle) leave nothing in the outbox.
          for (let i = 0; i < 100; i++) {
            await settle(market);
            if ((await orderBook(env, market).readOutbox(0, 10)).entries.length === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          expect((await orderBook(env, market).readOutbox(0, 10)).entries).toEqual([]);
          const quarantined = await withDatabase(env, (db) =>
            db.select().from(settlementQuarantine).where(eq(settlementQuarantine.market, market)),
          );
          expect(quarantined).toEqual([]);
          await floor.expectBalanced();
          // The settler's relay publishes every settled page (and is idle when the next test runs:
          // it relays every market's events).
          for (let i = 0; i < 100; i++) {
            const [row] = await withDatabase(env, (db) =>
              db
                .select({ n: sql<number>`count(*)::int` })
                .from(eventPages)
                .where(
                  sql`${eventPages.envelope}->>'market' = ${market} and ${eventPages.publishedAt} is null`,
                ),
            );
            if (row!.n === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
      ),
      { numRuns: 4 },
    );
    // The runs met fills, amendments (left to the planner) and cancels (settling themselves).
    expect(seen.fills).toBeGreaterThan(0);
    expect(seen.amended).toBeGreaterThan(0);
    expect(seen.cancelled).toBeGreaterThan(0);
  }, 180_000);

  it("drains once the cursor, held elsewhere while fills arrive, is free: each fill once", async () => {
    const floor = await tradingFloor({ b1: { USDT: "5000" }, s1: { BTC: "1" } });
    const { market, b1, s1 } = floor;
    // The market's cursor row exists (a first fill settled), then another transaction holds it.
    const fill = async () => {
      await placed(s1, { market, side: "sell", type: "limit", price: "50000.00", quantity: "0.002" });
      await placed(b1, { market, side: "buy", type: "limit", price: "50000.00", quantity: "0.002" });
    };
    await fill();
    await settle(market);
    await withDatabase(env, (other) =>
      other.transaction(async (tx) => {
        await tx.execute(sql`select 1 from settlement_cursors where market = ${market} for update`);
        // The object's settler meets `busy` for every page it sends meanwhile.
        for (let i = 0; i < 6; i++) await Promise.all([fill(), fill()]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const { entries } = await orderBook(env, market).readOutbox(0, 1_000);
        expect(entries.filter((e) => e.kind === "trade")).toHaveLength(12);
      }),
    );
    // Released: the settler's retry (no new fill to kick it) drains the outbox by itself.
    for (let i = 0; i < 100; i++) {
      if ((await orderBook(env, market).readOutbox(0, 10)).entries.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await orderBook(env, market).readOutbox(0, 10)).entries).toEqual([]);
    await floor.expectBalanced();
  });
});
