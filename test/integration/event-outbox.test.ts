import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/client";
import { auditLogs, eventOutbox, eventPages } from "../../src/db/schema";
import { createRedis } from "../../src/http/resources";
import { SYSTEM_METADATA } from "../../src/http/request-metadata";
import { purgeAuditLogs, recordAudit } from "../../src/domain/audit-log";
import { enqueueEvent, relayOutbox, type EventEnvelope } from "../../src/domain/events/event-outbox";
import { expandSettledPage } from "../../src/domain/events/settled-page-events";

describe("event outbox", () => {
  it("commits events with the change and relays them to their Redis stream once", async () => {
    const stream = "user-service:events";
    const marker = crypto.randomUUID();
    const id = await withDatabase(env, (db) =>
      db.transaction((tx) =>
        enqueueEvent(tx, {
          stream,
          type: "test.happened",
          userId: null,
          payload: { marker },
          metadata: SYSTEM_METADATA,
        }),
      ),
    );
    const redis = createRedis(env);
    const first = await withDatabase(env, (db) => relayOutbox(db, redis));
    expect(first.published).toBeGreaterThanOrEqual(1);
    const second = await withDatabase(env, (db) => relayOutbox(db, redis));
    expect(second.published).toBe(0);

    const entries = (await redis.xrange(stream, "-", "+")) as Record<string, Record<string, unknown>>;
    const envelopes = Object.values(entries).map((fields) =>
      typeof fields.event === "string"
        ? (JSON.parse(fields.event) as EventEnvelope)
        : (fields.event as EventEnvelope),
    );
    const mine = envelopes.filter((e) => e.id === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ type: "test.happened", user_id: null, payload: { marker } });
  });

  // The relay-stop tests: an event to enqueue, and a row of a table by a condition.
  const event = (marker: string) => ({
    stream: "wallet:events" as const,
    type: "test.happened",
    userId: null,
    payload: { marker },
    metadata: SYSTEM_METADATA,
  });
  const rowOf = async (
    where: ReturnType<typeof sql>,
    from: typeof eventOutbox | typeof eventPages = eventOutbox,
  ) => (await withDatabase(env, (db) => db.select().from(from).where(where)))[0]!;
  const byEnvelope = (id: string) => sql`${eventOutbox.envelope}->>'id' = ${id}`;

  it("publishes runs of several streams in one request, each stream's events in their order", async () => {
    const streams = ["wallet:events", "wallet:events", "user-service:events", "wallet:events"] as const;
    const ids = await withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        const out: string[] = [];
        for (const stream of streams) out.push(await enqueueEvent(tx, { ...event("runs"), stream }));
        return out;
      }),
    );
    const redis = createRedis(env);
    await withDatabase(env, (db) => relayOutbox(db, redis));
    for (const stream of new Set(streams)) {
      const entries = (await redis.xrange(stream, "-", "+")) as Record<
        string,
        { event: string | EventEnvelope }
      >;
      const published = Object.values(entries)
        .map((f) => (typeof f.event === "string" ? (JSON.parse(f.event) as EventEnvelope) : f.event).id)
        .filter((id) => ids.includes(id));
      expect(published).toEqual(ids.filter((_, i) => streams[i] === stream));
    }
  });

  // A page row in event_outbox: what 0018's settle_page wrote; in event_pages: since 0021.
  it.each([
    ["event_outbox", eventOutbox],
    ["event_pages", eventPages],
  ] as const)(
    "a row it cannot expand (in %s) stops the relay there, published before it and recorded, never rolled back",
    async (_name, table) => {
      const before = await withDatabase(env, (db) => enqueueEvent(db, event("before")));
      const [bad] = await withDatabase(env, (db) =>
        db
          .insert(table)
          .values({
            stream: "trading:events",
            envelope: {
              id: crypto.randomUUID(),
              timestamp: new Date().toISOString(),
              market: "X",
              events: [null],
            },
            pageEvents: 1,
          })
          .returning({ id: table.id }),
      );
      const after = await withDatabase(env, (db) => enqueueEvent(db, event("after")));
      try {
        const result = await withDatabase(env, (db) => relayOutbox(db, createRedis(env)));
        expect(result.failed).toBeGreaterThanOrEqual(2);
        expect((await rowOf(byEnvelope(before))).publishedAt).not.toBeNull();
        const stuck = await rowOf(eq(table.id, bad!.id), table);
        expect(stuck.publishedAt).toBeNull();
        expect(stuck.attempts).toBeGreaterThanOrEqual(1);
        expect(stuck.lastError).toMatch(/unreadable settled page/);
        expect((await rowOf(byEnvelope(after))).publishedAt).toBeNull();
      } finally {
        // Other tests' relays must not stop behind it.
        await withDatabase(env, (db) => db.delete(table).where(eq(table.id, bad!.id)));
      }
    },
  );

  // The failed-XADD tests: a row whose stream is a key holding a string (its XADD fails:
  // WRONGTYPE), and what a relay that stopped there must have left of it.
  const rowToAString = async (redis: ReturnType<typeof createRedis>) => {
    const key = `test:not-a-stream:${crypto.randomUUID()}`;
    await redis.set(key, "x");
    const [row] = await withDatabase(env, (db) =>
      db
        .insert(eventOutbox)
        .values({ stream: key, envelope: { id: crypto.randomUUID(), type: "test.happened" } })
        .returning({ id: eventOutbox.id }),
    );
    return { key, id: row!.id };
  };
  const expectStuck = async (id: bigint) => {
    const stuck = await rowOf(eq(eventOutbox.id, id));
    expect(stuck.publishedAt).toBeNull();
    expect(stuck.attempts).toBeGreaterThanOrEqual(1);
    expect(stuck.lastError).toMatch(/WRONGTYPE/);
  };

  it("a failed XADD stops the relay at its event: the events before it published, its row recorded", async () => {
    const redis = createRedis(env);
    const before = await withDatabase(env, (db) => enqueueEvent(db, event("before")));
    const bad = await rowToAString(redis);
    const after = await withDatabase(env, (db) => enqueueEvent(db, event("after")));
    try {
      const result = await withDatabase(env, (db) => relayOutbox(db, redis));
      expect(result.failed).toBeGreaterThanOrEqual(2);
      expect((await rowOf(byEnvelope(before))).publishedAt).not.toBeNull();
      await expectStuck(bad.id);
      expect((await rowOf(byEnvelope(after))).publishedAt).toBeNull();
    } finally {
      await withDatabase(env, (db) => db.delete(eventOutbox).where(eq(eventOutbox.id, bad.id)));
      await redis.del(bad.key);
    }
  });

  it("a failed XADD in a later request of a round marks exactly the rows before it: a page split over two requests published once, in order", async () => {
    const redis = createRedis(env);
    // 600 events: with the bad row and the one after, 602 go out as two requests of 301, so the
    // page's events span both and the failure is the second request's 300th event.
    const stream = `test:relay-chunks:${crypto.randomUUID()}`;
    const page = {
      id: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
      market: "X",
      events: Array.from({ length: 600 }, () => ["order.accepted", crypto.randomUUID(), crypto.randomUUID()]),
    };
    const [paged] = await withDatabase(env, (db) =>
      db
        .insert(eventPages)
        .values({ stream, envelope: page, pageEvents: 600 })
        .returning({ id: eventPages.id }),
    );
    const bad = await rowToAString(redis);
    const after = await withDatabase(env, (db) => enqueueEvent(db, event("after")));
    try {
      const result = await withDatabase(env, (db) => relayOutbox(db, redis, 2_000));
      expect(result.failed).toBeGreaterThanOrEqual(2);
      expect((await rowOf(eq(eventPages.id, paged!.id), eventPages)).publishedAt).not.toBeNull();
      await expectStuck(bad.id);
      expect((await rowOf(byEnvelope(after))).publishedAt).toBeNull();
      const entries = (await redis.xrange(stream, "-", "+")) as Record<
        string,
        { event: string | EventEnvelope }
      >;
      const published = Object.values(entries).map((f) =>
        typeof f.event === "string" ? (JSON.parse(f.event) as EventEnvelope) : f.event,
      );
      expect(published).toEqual(expandSettledPage(page));
    } finally {
      await withDatabase(env, (db) => db.delete(eventOutbox).where(eq(eventOutbox.id, bad.id)));
      await redis.del(bad.key, stream);
    }
  });

  it("bounds a pass by events: ten rounds' worth of events and at most one page more", async () => {
    const page = () => ({
      stream: "trading:events",
      envelope: {
        id: crypto.randomUUID(),
        timestamp: new Date().toISOString(),
        market: "X",
        events: Array.from({ length: 30 }, () => [
          "order.accepted",
          crypto.randomUUID(),
          crypto.randomUUID(),
        ]),
      },
      pageEvents: 30,
    });
    await withDatabase(env, (db) => db.insert(eventOutbox).values([page(), page(), page()]));
    const redis = createRedis(env);
    const limit = 5;
    const pass = await withDatabase(env, (db) => relayOutbox(db, redis, limit));
    expect(pass.published).toBeLessThanOrEqual(10 * limit + 30);
    await withDatabase(env, (db) => relayOutbox(db, redis));
  });

  it("commits each round of a pass: a pass that fails later keeps the earlier rounds published", async () => {
    const redis = createRedis(env);
    await withDatabase(env, (db) => relayOutbox(db, redis));
    await withDatabase(env, async (db) => {
      for (let i = 0; i < 3; i++) await enqueueEvent(db, event(crypto.randomUUID()));
    });
    const firstRound: string[] = [];
    let calls = 0;
    await expect(
      withDatabase(env, (db) =>
        relayOutbox(db, redis, 1, {
          onPublished: async (_db, events) => {
            if (++calls === 2) throw new Error("the connection broke in the second round");
            firstRound.push(...events.envelopes().map((e) => e.id));
          },
        }),
      ),
    ).rejects.toThrow("second round");
    expect(firstRound).toHaveLength(1);
    const row = await rowOf(byEnvelope(firstRound[0]!));
    expect(row.publishedAt).not.toBeNull();
  });

  it("rolls the event back with its transaction", async () => {
    const marker = crypto.randomUUID();
    await withDatabase(env, (db) =>
      db
        .transaction(async (tx) => {
          await enqueueEvent(tx, {
            stream: "wallet:events",
            type: "x",
            userId: null,
            payload: { marker },
            metadata: SYSTEM_METADATA,
          });
          throw new Error("abort");
        })
        .catch(() => {}),
    );
    const rows = await withDatabase(env, (db) =>
      db
        .select()
        .from(eventOutbox)
        .where(sql`${eventOutbox.envelope}->'payload'->>'marker' = ${marker}`),
    );
    expect(rows).toEqual([]);
  });
});

describe("audit log retention", () => {
  it("purges only entries older than the retention", async () => {
    const action = `test.${crypto.randomUUID()}`;
    await withDatabase(env, async (db) => {
      const entry = {
        actorId: null,
        actorType: "system" as const,
        action,
        resourceType: "test",
        metadata: SYSTEM_METADATA,
      };
      await recordAudit(db, { ...entry, details: { password: "never stored", note: "old" } });
      await db
        .update(auditLogs)
        .set({ occurredAt: new Date(Date.now() - 40 * 86_400_000) })
        .where(eq(auditLogs.action, action));
      await recordAudit(db, { ...entry, details: { note: "new" } });
      await purgeAuditLogs(db, 30);
      const left = await db.select().from(auditLogs).where(eq(auditLogs.action, action));
      expect(left.map((r) => r.details)).toEqual([{ note: "new" }]);
    });
  });

  it("redacts secrets in details", async () => {
    const action = `test.${crypto.randomUUID()}`;
    await withDatabase(env, async (db) => {
      await recordAudit(db, {
        actorId: null,
        actorType: "system",
        action,
        resourceType: "t",
        details: { password: "p" },
        metadata: SYSTEM_METADATA,
      });
      const [row] = await db.select().from(auditLogs).where(eq(auditLogs.action, action));
      expect(row!.details).toEqual({ password: "[REDACTED]" });
    });
  });
});
