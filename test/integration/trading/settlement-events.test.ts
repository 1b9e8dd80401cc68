import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { eventOutbox, eventPages } from "../../../src/db/schema";
import { createRedis } from "../../../src/http/resources";
import { enqueueEvent, relayOutbox, type EventEnvelope } from "../../../src/domain/events/event-outbox";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { expandSettledPage, type SettledPage } from "../../../src/domain/events/settled-page-events";
import { planSettlement } from "../../../src/domain/settlement/plan";
import { lockBatch } from "../../../src/domain/settlement/reads";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { heldMarket } from "./settlement-helpers";

describe("a settled page's events", () => {
  it("are one event_pages row that the relay publishes as the planner's events, in order, with stable ids", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      await order(seller, { side: "sell", type: "limit", price: "50000.00", quantity: "0.02" });
      await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.03" }); // rests 0.01
      await order(seller, { side: "sell", type: "limit", price: "49000.00", quantity: "0.01" }); // fills it
      await order(buyer, {
        side: "buy",
        type: "limit",
        price: "40000.00",
        quantity: "0.01",
        time_in_force: "IOC",
      });
      const { entries } = await book.readOutbox(0);
      expect(entries.filter((e) => e.kind === "trade")).toHaveLength(2);

      // What the TypeScript planner (one row per event) would have written for the same entries.
      const known = await db.transaction(
        async (tx) => (await lockBatch(tx, market, entries, { wait: true, cursor: false }))!.known,
      );
      const expected = planSettlement(rules, entries, known, 0).events.map((e) => ({
        type: e.type,
        user_id: e.userId,
        payload: e.payload,
      }));
      expect(expected.map((e) => e.type)).toEqual([
        "order.accepted",
        "order.accepted",
        "trade.executed",
        "trade.executed",
        "order.filled",
        "order.accepted",
        "trade.executed",
        "trade.executed",
        "order.filled",
        "order.filled",
        "order.accepted",
        "order.cancelled",
      ]);

      const settled = await settleMarket(db, book, rules);
      expect(settled.trades).toBe(2);
      const rows = await db
        .select({ envelope: eventPages.envelope, pageEvents: eventPages.pageEvents })
        .from(eventPages)
        .where(sql`${eventPages.envelope}->>'market' = ${market}`);
      expect(rows).toHaveLength(1);
      const page = rows[0]!.envelope as unknown as SettledPage;
      const envelopes = expandSettledPage(page);
      expect(rows[0]!.pageEvents).toBe(envelopes.length);
      expect(envelopes.map(({ type, user_id, payload }) => ({ type, user_id, payload }))).toEqual(expected);
      for (const e of envelopes) {
        expect(e.timestamp).toBe(page.timestamp);
        expect(e.metadata).toEqual({ ip_address: null, user_agent: null, request_id: null });
      }
      expect(new Set(envelopes.map((e) => e.id)).size).toBe(envelopes.length);
      expect(expandSettledPage(page)).toEqual(envelopes); // a relay's retry: the same ids

      // The relay publishes each event on its own, in the page's order. Another market object's
      // relay (they run beside this test) may publish the page first: then this one sees none of
      // it, and the stream below is still the proof.
      const seen: EventEnvelope[] = [];
      await relayOutbox(db, createRedis(env), 100, {
        onPublished: async (_db, published) => void seen.push(...published.envelopes()),
      });
      expect([[], envelopes]).toContainEqual(seen.filter((e) => e.payload.market === market));
      const stream = (await createRedis(env).xrange("trading:events", "-", "+")) as Record<
        string,
        { event: string | EventEnvelope }
      >;
      const ids = new Set(envelopes.map((e) => e.id));
      const published = Object.values(stream)
        .map((f) => (typeof f.event === "string" ? (JSON.parse(f.event) as EventEnvelope) : f.event))
        .filter((e) => ids.has(e.id));
      expect(published).toEqual(envelopes);
      const [row] = await db
        .select({ publishedAt: eventPages.publishedAt })
        .from(eventPages)
        .where(
          and(
            eq(eventPages.pageEvents, envelopes.length),
            sql`${eventPages.envelope}->>'market' = ${market}`,
          ),
        );
      expect(row?.publishedAt).not.toBeNull();
    });
  });

  it("are hidden from a relay of an older release, and published in id order among single events", async () => {
    await withDatabase(env, async (db) => {
      const { market, seller, buyer, order, rules, book } = await heldMarket(db);
      const single = (marker: string) =>
        enqueueEvent(db, {
          stream: "trading:events",
          type: "test.happened",
          userId: null,
          payload: { marker, market },
          metadata: SYSTEM_METADATA,
        });
      const before = await single("before");
      await order(seller, { side: "sell", type: "limit", price: "50000.00", quantity: "0.01" });
      await order(buyer, { side: "buy", type: "limit", price: "50000.00", quantity: "0.01" });
      expect((await settleMarket(db, book, rules)).trades).toBe(1);
      const after = await single("after");

      // What the relays of older releases read: every pending event_outbox row (before 0018),
      // the same with `page_events` (0018's). Neither sees the page, so neither publishes it raw.
      for (const query of [
        sql`select envelope from ${eventOutbox} where ${eventOutbox.publishedAt} is null order by ${eventOutbox.id}`,
        sql`select envelope, page_events from ${eventOutbox} where ${eventOutbox.publishedAt} is null order by ${eventOutbox.id}`,
      ]) {
        const { rows } = await db.execute<{ envelope: { market?: string; events?: unknown } }>(query);
        expect(rows.filter((r) => r.envelope.market === market && r.envelope.events !== undefined)).toEqual(
          [],
        );
      }

      // The current relay: the single event before the page, the page's events, the one after.
      const seen: EventEnvelope[] = [];
      await relayOutbox(db, createRedis(env), 100, {
        onPublished: async (_db, published) => void seen.push(...published.envelopes()),
      });
      const mine = seen.filter((e) => e.payload.market === market);
      expect(mine.map((e) => e.type)).toEqual([
        "test.happened",
        "order.accepted",
        "order.accepted",
        "trade.executed",
        "trade.executed",
        "order.filled",
        "order.filled",
        "test.happened",
      ]);
      expect([mine[0]!.id, mine.at(-1)!.id]).toEqual([before, after]);
    });
  });
});
