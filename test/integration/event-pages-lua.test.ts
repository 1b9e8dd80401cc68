import { env } from "cloudflare:workers";
import fc from "fast-check";
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/client";
import { eventPages } from "../../src/db/schema";
import { createRedis } from "../../src/http/resources";
import { relayOutbox } from "../../src/domain/events/event-outbox";
import { expandSettledPage, type SettledPage } from "../../src/domain/events/settled-page-events";

// The relay sends a settled page's compact text to Redis, whose Lua script (xadd-rows-script.ts)
// builds its events: each stream entry must be, byte for byte, what the TypeScript reference
// (`expandSettledPage`, then `JSON.stringify`) gives, for any page settle_page could write.

// Texts a page may hold, the awkward ones often: quotes, backslashes, slashes (cjson.encode would
// write '\/'), control characters, DEL, U+2028, non-ASCII and astral characters. Well-formed
// Unicode only: Postgres text holds no lone surrogate.
const text = fc.oneof(
  fc.uuid(),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.constantFrom(
    '"',
    "\\",
    "/",
    "a/b",
    "\n\t\r\b\f",
    "\u0000\u0001\u001f",
    "\u007f",
    "\u2028",
    "é",
    "😀",
    "",
  ),
);
// Null where settle_page may write it (its `coalesce(to_json(..), 'null')` fields).
const nullable = fc.option(text, { freq: 4 });
const entry = fc.oneof(
  fc.tuple(fc.constant("order.accepted"), text, text),
  fc.tuple(fc.constant("trade.executed"), nullable, nullable, nullable, nullable, text, text, text, text),
  fc.tuple(fc.constantFrom("order.filled", "order.cancelled"), text, text, nullable, nullable),
);
// Page ids whose last 48 bits carry, and wrap, within the page: each half is 24 bits in Lua.
const node = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 48n - 1n }),
  fc.constantFrom(2n ** 24n - 2n, 2n ** 48n - 3n, 2n ** 48n - 1n, 0n),
);
const page = fc
  .record({
    id: fc.tuple(fc.uuid(), node, fc.boolean()).map(([uuid, n, upper]) => {
      const id = uuid.slice(0, 24) + n.toString(16).padStart(12, "0");
      return upper ? id.toUpperCase() : id;
    }),
    timestamp: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      text,
    ),
    market: fc.oneof(fc.constant("BTC-USDT"), text),
    events: fc.oneof(fc.array(entry, { maxLength: 8 }), fc.array(entry, { maxLength: 300 })),
    // As a JSON text's parse gives it (plain objects), as the relay's reference reads it.
  })
  .map((p) => JSON.parse(JSON.stringify(p)) as SettledPage);

const eventsOf = (p: SettledPage) => p.events.reduce((n, e) => n + (e[0] === "trade.executed" ? 2 : 1), 0);

/** The texts of a stream's entries, as Redis holds them (the client parses none: raw replies). */
async function streamTexts(stream: string): Promise<string[]> {
  const entries = (await createRedis(env, { hotPath: true }).xrange(stream, "-", "+")) as unknown as [
    string,
    [string, string],
  ][];
  return entries.map(([, fields]) => {
    expect(fields[0]).toBe("event");
    return fields[1];
  });
}

describe("a settled page expanded in Redis", () => {
  it("is the TypeScript reference's events, byte for byte, in order", async () => {
    const redis = createRedis(env);
    await fc.assert(
      fc.asyncProperty(fc.array(page, { minLength: 1, maxLength: 4 }), async (pages) => {
        const streams = pages.map(() => `test:page-lua:${crypto.randomUUID()}`);
        const rows = await withDatabase(env, (db) =>
          db
            .insert(eventPages)
            .values(
              pages.map((p, i) => ({ stream: streams[i]!, envelope: { ...p }, pageEvents: eventsOf(p) })),
            )
            .returning({ id: eventPages.id }),
        );
        try {
          const result = await withDatabase(env, (db) => relayOutbox(db, redis, 10_000));
          expect(result.failed).toBe(0);
          for (const [i, p] of pages.entries()) {
            const expected = expandSettledPage(p);
            const texts = await streamTexts(streams[i]!);
            expect(texts.map((t) => JSON.parse(t) as unknown)).toEqual(expected);
            expect(texts).toEqual(expected.map((e) => JSON.stringify(e)));
          }
        } finally {
          await withDatabase(env, (db) =>
            db.delete(eventPages).where(
              inArray(
                eventPages.id,
                rows.map((r) => r.id),
              ),
            ),
          );
          await redis.del(...streams);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("is published whole, by one request of its own, when it holds more events than a request", async () => {
    const redis = createRedis(env);
    const stream = `test:page-lua:${crypto.randomUUID()}`;
    const big: SettledPage = {
      id: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
      market: "BTC-USDT",
      events: Array.from({ length: 1_500 }, () => [
        "trade.executed",
        crypto.randomUUID(),
        "64000.00",
        "0.001",
        "buy",
        crypto.randomUUID(),
        crypto.randomUUID(),
        crypto.randomUUID(),
        crypto.randomUUID(),
      ]),
    };
    const [row] = await withDatabase(env, (db) =>
      db
        .insert(eventPages)
        .values({ stream, envelope: { ...big }, pageEvents: 3_000 })
        .returning({ id: eventPages.id }),
    );
    try {
      await withDatabase(env, (db) => relayOutbox(db, redis, 10_000));
      expect(await streamTexts(stream)).toEqual(expandSettledPage(big).map((e) => JSON.stringify(e)));
    } finally {
      await withDatabase(env, (db) => db.delete(eventPages).where(inArray(eventPages.id, [row!.id])));
      await redis.del(stream);
    }
  });
});
