import { env } from "cloudflare:workers";
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/client";
import { eventOutbox, eventPages } from "../../src/db/schema";
import { createRedis } from "../../src/http/resources";
import { enqueueEvent, relayOutbox } from "../../src/domain/events/event-outbox";
import { expandSettledPage, type SettledPage } from "../../src/domain/events/settled-page-events";

/**
 * A relay round goes out as several requests of whole rows (at most 2,000 events each,
 * event-outbox.ts): a failure in a later request must keep what the earlier ones published (their
 * rows marked, their events once in the stream, in order) and stop at the failing row, the rows
 * after it left pending.
 */

const pageOf = (events: number): SettledPage => ({
  id: crypto.randomUUID(),
  timestamp: new Date().toISOString(),
  market: "X",
  events: Array.from({ length: events }, () => ["order.accepted", crypto.randomUUID(), crypto.randomUUID()]),
});

const insertPages = (stream: string, pages: SettledPage[]) =>
  withDatabase(env, (db) =>
    db
      .insert(eventPages)
      .values(pages.map((p) => ({ stream, envelope: { ...p }, pageEvents: p.events.length })))
      .returning({ id: eventPages.id }),
  );

/** A row whose XADD fails: its stream's key holds a string. */
const insertUnpublishable = async (notAStream: string) => {
  const [bad] = await withDatabase(env, (db) =>
    db
      .insert(eventOutbox)
      .values({ stream: notAStream, envelope: { id: crypto.randomUUID(), type: "test.happened" } })
      .returning({ id: eventOutbox.id }),
  );
  return bad!;
};

const enqueueAfter = () =>
  withDatabase(env, (db) =>
    enqueueEvent(db, {
      stream: "wallet:events",
      type: "test.after",
      userId: null,
      payload: {},
      metadata: { ipAddress: null, userAgent: null, requestId: null },
    }),
  );

/** The texts of the stream's entries, in order. */
const streamTexts = async (stream: string) =>
  Object.values(
    (await createRedis(env, { hotPath: true }).xrange(stream, "-", "+")) as unknown as [
      string,
      [string, string],
    ][],
  ).map(([, fields]) => fields[1]);

describe("a relay round of several requests", () => {
  it("that fails in its third request publishes the first two's pages once, in order, and stops at the failing row", async () => {
    const redis = createRedis(env);
    const stream = `test:relay-requests:${crypto.randomUUID()}`;
    const notAStream = `test:not-a-stream:${crypto.randomUUID()}`;
    await redis.set(notAStream, "x");
    // 1,500 + 2,000 events: a request each (neither fits beside the other); the failing row and
    // the one after it are the third request.
    const pages = [pageOf(1_500), pageOf(2_000)];
    const rows = await insertPages(stream, pages);
    const bad = await insertUnpublishable(notAStream);
    const after = await enqueueAfter();
    try {
      const result = await withDatabase(env, (db) => relayOutbox(db, redis, 10_000));
      expect(result.failed).toBeGreaterThanOrEqual(2);
      const marked = await withDatabase(env, (db) =>
        db
          .select({ publishedAt: eventPages.publishedAt })
          .from(eventPages)
          .where(
            inArray(
              eventPages.id,
              rows.map((r) => r.id),
            ),
          ),
      );
      expect(marked.map((r) => r.publishedAt !== null)).toEqual([true, true]);
      const [stuck] = await withDatabase(env, (db) =>
        db.select().from(eventOutbox).where(eq(eventOutbox.id, bad.id)),
      );
      expect(stuck!.publishedAt).toBeNull();
      expect(stuck!.attempts).toBeGreaterThanOrEqual(1);
      expect(stuck!.lastError).toMatch(/WRONGTYPE/);
      const [next] = await withDatabase(env, (db) =>
        db
          .select({ publishedAt: eventOutbox.publishedAt })
          .from(eventOutbox)
          .where(sql`${eventOutbox.envelope}->>'id' = ${after}`),
      );
      expect(next!.publishedAt).toBeNull();
      // Each page's events once, the first page's before the second's.
      expect(await streamTexts(stream)).toEqual(
        pages.flatMap((p) => expandSettledPage(p).map((e) => JSON.stringify(e))),
      );
    } finally {
      await withDatabase(env, (db) => db.delete(eventOutbox).where(eq(eventOutbox.id, bad.id)));
      await redis.del(stream, notAStream);
    }
  });

  it("sent as one pipeline, adds nothing after the request that stopped: the later requests see the round stopped", async () => {
    const redis = createRedis(env);
    const stream = `test:relay-requests:${crypto.randomUUID()}`;
    const notAStream = `test:not-a-stream:${crypto.randomUUID()}`;
    await redis.set(notAStream, "x");
    // Requests: [1,500] [1,000 + the failing row] [2,000] [the event after]: the third and fourth
    // already sent when the second stops.
    const [first, second, later] = [pageOf(1_500), pageOf(1_000), pageOf(2_000)];
    const before = await insertPages(stream, [first, second]);
    const bad = await insertUnpublishable(notAStream);
    const [afterPage] = await insertPages(stream, [later]);
    const after = await enqueueAfter();
    try {
      const result = await withDatabase(env, (db) => relayOutbox(db, redis, 10_000));
      expect(result.failed).toBeGreaterThanOrEqual(2_002);
      const published = await withDatabase(env, (db) =>
        db
          .select({ id: eventPages.id, publishedAt: eventPages.publishedAt })
          .from(eventPages)
          .where(
            inArray(
              eventPages.id,
              [...before, afterPage!].map((r) => r.id),
            ),
          ),
      );
      expect(published.sort((a, b) => Number(a.id - b.id)).map((r) => r.publishedAt !== null)).toEqual([
        true,
        true,
        false,
      ]);
      const [stuck] = await withDatabase(env, (db) =>
        db.select().from(eventOutbox).where(eq(eventOutbox.id, bad.id)),
      );
      expect(stuck!.lastError).toMatch(/WRONGTYPE/);
      const [next] = await withDatabase(env, (db) =>
        db
          .select({ publishedAt: eventOutbox.publishedAt, attempts: eventOutbox.attempts })
          .from(eventOutbox)
          .where(sql`${eventOutbox.envelope}->>'id' = ${after}`),
      );
      expect(next).toEqual({ publishedAt: null, attempts: 0 });
      // The two pages before the stop, once, in order; nothing of the page after it.
      expect(await streamTexts(stream)).toEqual(
        [first, second].flatMap((p) => expandSettledPage(p).map((e) => JSON.stringify(e))),
      );
    } finally {
      await withDatabase(env, (db) =>
        db
          .delete(eventOutbox)
          .where(sql`${eventOutbox.id} = ${bad.id} or ${eventOutbox.envelope}->>'id' = ${after}`),
      );
      await withDatabase(env, (db) => db.delete(eventPages).where(eq(eventPages.id, afterPage!.id)));
      await redis.del(stream, notAStream);
    }
  });
});
