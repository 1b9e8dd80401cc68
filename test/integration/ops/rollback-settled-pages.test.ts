import { env } from "cloudflare:workers";
import { inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import { eventOutbox, eventPages } from "../../../src/db/schema";
import { RELAY_LOCK_KEY } from "../../../src/domain/events/event-outbox";
import { expandSettledPage, type SettledPage } from "../../../src/domain/events/settled-page-events";
import { endSettledPagesRedirect, redirectSettledPages } from "../../../scripts/ops/settled-pages-redirect";

/** A page as 0021's settle_page writes it to event_pages (two events). */
const page = (market: string) => ({
  stream: "trading:events",
  envelope: {
    id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    market,
    events: [
      ["order.accepted", crypto.randomUUID(), crypto.randomUUID()],
      ["order.cancelled", crypto.randomUUID(), crypto.randomUUID(), "cancelled", "user"],
    ],
  },
  pageEvents: 2,
});

/** What a relay of a release from 0018 to 0021 reads (its query, 66bae76): event_outbox only. */
async function oldRelayReads(tx: DbExecutor, market: string) {
  const { rows } = await tx.execute<{ id: string; envelope: string; page_events: number | null }>(
    sql`select id::text as id, stream, envelope::text as envelope, page_events from (
        select r.*, sum(coalesce(r.page_events, 1)) over (order by r.id) - coalesce(r.page_events, 1) as before
        from (select id, stream, envelope, page_events from event_outbox
          where published_at is null order by id limit 100000) r) p
      where p.before < 100000`,
  );
  return rows.filter((r) => (JSON.parse(r.envelope) as SettledPage).market === market);
}

/** Runs `fn` in a transaction rolled back after it: the trigger never reaches parallel tests. */
async function rolledBack(fn: (tx: DbExecutor) => Promise<void>): Promise<void> {
  const undo = new Error("rolled back");
  await withDatabase(env, (db) =>
    db
      .transaction(async (tx) => {
        await fn(tx);
        throw undo;
      })
      .catch((err: unknown) => {
        if (err !== undo) throw err;
      }),
  );
}

describe("settled pages after a rollback to a release before 0021", () => {
  it("moves the pending pages to event_outbox as page rows an old relay expands, each once, and redirects later ones", async () => {
    const market = `RB-${crypto.randomUUID().slice(0, 8)}`;
    await rolledBack(async (tx) => {
      const written = await tx
        .insert(eventPages)
        .values([page(market), page(market)])
        .returning({ id: eventPages.id, envelope: eventPages.envelope });
      expect(await oldRelayReads(tx, market)).toEqual([]); // what the review found: never published

      const first = await redirectSettledPages(tx);
      expect(first.rows).toBeGreaterThanOrEqual(2);
      expect(first.events).toBeGreaterThanOrEqual(4);
      const seen = await oldRelayReads(tx, market);
      // Same ids (event_outbox's sequence: the relay's order), page rows with their event count.
      expect(seen.map((r) => BigInt(r.id))).toEqual(written.map((w) => w.id));
      for (const [i, row] of seen.entries()) {
        expect(row.page_events).toBe(2);
        const expanded = expandSettledPage(JSON.parse(row.envelope) as SettledPage);
        expect(expanded.map((e) => e.type)).toEqual(["order.accepted", "order.cancelled"]);
        expect(expanded).toEqual(expandSettledPage(written[i]!.envelope as unknown as SettledPage));
      }
      const left = await tx
        .select({ id: eventPages.id })
        .from(eventPages)
        .where(
          inArray(
            eventPages.id,
            written.map((w) => w.id),
          ),
        );
      expect(left).toEqual([]);

      // A page the rolled-back release's objects write now (settle_page into event_pages) goes
      // to event_outbox, with its id from the same sequence.
      const [later] = await tx.insert(eventPages).values(page(market)).returning({ id: eventPages.id });
      expect(later).toBeUndefined(); // the trigger wrote it to event_outbox instead
      const after = await oldRelayReads(tx, market);
      expect(after).toHaveLength(3);
      expect(BigInt(after[2]!.id)).toBeGreaterThan(BigInt(after[1]!.id));

      // Running it again moves nothing twice.
      const second = await redirectSettledPages(tx);
      expect(second.rows).toBe(0);
      const copies = await tx
        .select({ id: eventOutbox.id })
        .from(eventOutbox)
        .where(sql`${eventOutbox.envelope}->>'market' = ${market}`);
      expect(copies).toHaveLength(3);

      // Rolled forward: pages stay in event_pages again.
      await endSettledPagesRedirect(tx);
      await endSettledPagesRedirect(tx);
      const [back] = await tx.insert(eventPages).values(page(market)).returning({ id: eventPages.id });
      expect(back?.id).toBeDefined();
      expect(await oldRelayReads(tx, market)).toHaveLength(3);
    });
  });

  it("waits for a relay that holds the relays' lock before it moves anything", async () => {
    let released = 0;
    let relayHolds!: () => void;
    const holding = new Promise<void>((resolve) => (relayHolds = resolve));
    const relay = withDatabase(env, (db) =>
      db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${RELAY_LOCK_KEY})`);
        relayHolds();
        await new Promise((resolve) => setTimeout(resolve, 500));
        released = Date.now();
      }),
    );
    await holding;
    let moved = 0;
    await rolledBack(async (tx) => {
      await redirectSettledPages(tx);
      moved = Date.now();
    });
    await relay;
    expect(released).toBeGreaterThan(0);
    expect(moved).toBeGreaterThanOrEqual(released);
  });
});
