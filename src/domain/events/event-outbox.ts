import type { Redis } from "@upstash/redis/cloudflare";
import { eq, sql, type SQL } from "drizzle-orm";
import type { Database, DbExecutor } from "../../db/client";
import { jsonRowsInsert } from "../../db/json-insert";
import { eventOutbox, eventPages } from "../../db/schema";
import type { RequestMetadata } from "../../http/request-metadata";
import { expandSettledPage, type SettledPage } from "./settled-page-events";

/** Streams are capped near this length (`XADD ... MAXLEN ~`). */
export const STREAM_MAX_LENGTH = 10_000;

export interface DomainEvent {
  stream: "user-service:events" | "wallet:events" | "trading:events";
  type: string;
  userId: string | null;
  payload: Record<string, unknown>;
  metadata: RequestMetadata;
}

export interface EventEnvelope {
  id: string;
  type: string;
  timestamp: string;
  user_id: string | null;
  payload: Record<string, unknown>;
  metadata: { ip_address: string | null; user_agent: string | null; request_id: string | null };
}

function envelopeOf(event: DomainEvent): EventEnvelope {
  return {
    id: crypto.randomUUID(),
    type: event.type,
    timestamp: new Date().toISOString(),
    user_id: event.userId,
    payload: event.payload,
    metadata: {
      ip_address: event.metadata.ipAddress,
      user_agent: event.metadata.userAgent,
      request_id: event.metadata.requestId,
    },
  };
}

/**
 * Records an event in the outbox. Call it with the transaction that makes the change, so
 * the event exists exactly when the change does. Returns the envelope's id.
 */
export async function enqueueEvent(db: DbExecutor, event: DomainEvent): Promise<string> {
  const envelope = envelopeOf(event);
  await db.insert(eventOutbox).values({ stream: event.stream, envelope: { ...envelope } });
  return envelope.id;
}

/** Many events as one INSERT (in order) to embed in a larger statement, e.g. a settlement batch's. */
export function eventsInsert(events: DomainEvent[]): SQL {
  return jsonRowsInsert(
    eventOutbox,
    events.map((event) => ({ stream: event.stream, envelope: { ...envelopeOf(event) } })),
  );
}

type PendingRow = {
  id: string;
  stream: string;
  envelope: string;
  page_events: number | null;
  /** The row is in `event_pages` (else `event_outbox`). */
  paged: boolean;
};

/** A pending row's events: the texts to publish and (parsed only when asked) their envelopes. */
function eventsOfRow(row: PendingRow): { texts: string[]; envelopes: () => EventEnvelope[] } {
  if (row.page_events === null) {
    return { texts: [row.envelope], envelopes: () => [JSON.parse(row.envelope) as EventEnvelope] };
  }
  const envelopes = expandSettledPage(JSON.parse(row.envelope) as SettledPage);
  return { texts: envelopes.map((e) => JSON.stringify(e)), envelopes: () => envelopes };
}

/** Arbitrary constant naming the relay's advisory lock: every release's relay takes this one. */
export const RELAY_LOCK_KEY = 7_301_001;

/**
 * Called with each page the relay published, in order and under its lock, before the page is
 * marked published (a relay that fails after it calls it again: consumers dedupe on `id`). The
 * user data stream's fan-out (src/binance/user-data/forward.ts) is one.
 */
export type OnPublished = (db: Database, envelopes: readonly EventEnvelope[]) => Promise<void>;

export interface RelayResult {
  published: number;
  failed: number;
}

/**
 * Publishes pending outbox rows to their Redis streams in id order. Delivery is at least
 * once (a crash between XADD and the update republishes): consumers dedupe on envelope `id`.
 * One relay at a time, under a transaction-scoped advisory lock: two relays publishing
 * disjoint batches side by side could put a later event on a stream before an earlier one.
 * A settled page's row is published as the events it holds (settled-page-events.ts): pages live
 * in `event_pages` (migration 0021: hidden from older relays, which read `event_outbox` only and
 * would publish a page raw), merged here with `event_outbox` in id order (one sequence), as one
 * outbox; a page row in `event_outbox` (0018's settle_page wrote them there) is expanded alike.
 * Callers that must know the outbox is drained (the cron, tests) wait for the lock. The
 * after-response relays pass `waitForLock: false`: waiting inside a transaction would hold a
 * connection per waiting request, so they back off and retry a few times instead, and the
 * cron catches anything they leave.
 */
export async function relayOutbox(
  db: Database,
  redis: Redis,
  limit = 100,
  { waitForLock = true, onPublished }: { waitForLock?: boolean; onPublished?: OnPublished } = {},
): Promise<RelayResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await relayUnderLock(db, redis, limit, waitForLock, onPublished);
    if (result || attempt === LOCK_RETRIES) return result ?? { published: 0, failed: 0 };
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS * (attempt + 1)));
  }
}

/**
 * XADDs the texts to their streams, in order, each stream capped near `STREAM_MAX_LENGTH`; answers
 * how many were added and, when one failed, its error. The texts come in runs of one stream:
 * `KEYS[k]` is run k's stream and `ARGV[k]` its length, the texts follow (`ARGV[#KEYS + 1]` on).
 * One command for a whole chunk: a pipeline of XADDs built, serialised and answered an object per
 * event (a few percent of the market object's CPU under load); a key per run, not per event, is
 * half the arguments for the REST body, the shim and Redis to carry.
 */
const XADD_ALL = `local n = #KEYS
for k = 1, #KEYS do
  for _ = 1, tonumber(ARGV[k]) do
    n = n + 1
    local r = redis.pcall('XADD', KEYS[k], 'MAXLEN', '~', ${STREAM_MAX_LENGTH}, '*', 'event', ARGV[n])
    if type(r) == 'table' and r.err then return {n - 1 - #KEYS, r.err} end
  end
end
return {n - #KEYS}`;

/**
 * Events a request at most. A round's events go in as few requests as this allows, of even
 * sizes (not `limit` and a small remainder: a request's fixed cost, the Worker's fetch and the
 * REST endpoint's HTTP, is that of ~150 events). Bodies stay ~200 kB: larger ones cost workerd
 * more per event (its profile: the REST body's JSON.stringify 2.7% -> 3.9% at 1,000 a request).
 */
const MAX_CHUNK_EVENTS = 500;

/** Consecutive equal `streams` as runs, with each run's length: `XADD_ALL`'s keys and leading arguments. */
export function streamRuns(streams: readonly string[]): { keys: string[]; lengths: number[] } {
  const keys: string[] = [];
  const lengths: number[] = [];
  for (const stream of streams) {
    if (keys.length > 0 && keys[keys.length - 1] === stream) lengths[lengths.length - 1]!++;
    else {
      keys.push(stream);
      lengths.push(1);
    }
  }
  return { keys, lengths };
}

/** `count` items cut into the fewest chunks of at most `max`, of even sizes: each chunk's size. */
export function chunkSize(count: number, max: number): number {
  return Math.ceil(count / Math.max(1, Math.ceil(count / max)));
}

const LOCK_RETRIES = 4;
const LOCK_RETRY_MS = 25;
const MAX_ROUNDS = 10;

/** Drains the outbox while holding the relay lock; null when another relay holds it. */
async function relayUnderLock(
  db: Database,
  redis: Redis,
  limit: number,
  waitForLock: boolean,
  onPublished: OnPublished | undefined,
): Promise<RelayResult | null> {
  return db.transaction(async (tx) => {
    // Sorting off for this transaction, in the lock's round trip: the pending rows are read in
    // the order of their partial index, never all of them collected and sorted. Planned on the
    // statistics of a quieter moment (few pending), the read was a bitmap scan of every pending
    // row and a sort: 0.3 s a page with 27,000 pending under the trading benchmark.
    if (waitForLock) {
      await tx.execute(
        sql`select pg_advisory_xact_lock(${RELAY_LOCK_KEY}), set_config('enable_sort', 'off', true)`,
      );
    } else {
      const lock = await tx.execute(
        sql`select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked, set_config('enable_sort', 'off', true)`,
      );
      if ((lock.rows[0] as { locked?: boolean } | undefined)?.locked !== true) return null;
    }
    let published = 0;
    // A pass is bounded by events, not rounds alone: a round takes at least one whole row, and a
    // settled page's row can hold thousands (ten such rounds were ~40,000 XADDs in one transaction).
    for (let round = 0; round < MAX_ROUNDS && published < MAX_ROUNDS * limit; round++) {
      const { rows: pending } = await tx.execute<PendingRow>(pendingRows(limit));
      if (pending.length === 0) break;
      // Rows expanded one by one: a row that cannot be (a malformed page) stops the round there,
      // the rows before it published and it recorded (attempts, last_error) like a failed XADD.
      const events: ReturnType<typeof eventsOfRow>[] = [];
      let unreadable: unknown;
      for (const row of pending) {
        try {
          events.push(eventsOfRow(row));
        } catch (err) {
          unreadable = err;
          break;
        }
      }
      // At most `limit` and MAX_CHUNK_EVENTS events a request, ONE command each (`XADD_ALL`:
      // the XADDs run in order), then one UPDATE: a few round trips per page instead of two per
      // event. A failed XADD stops there (the script answers how many went before it); the ones
      // before it go out again later with their row (at least once; consumers dedupe).
      let delivered = events.length;
      let failure: unknown;
      const items = events.flatMap((row, r) =>
        row.texts.map((text) => ({ r, stream: pending[r]!.stream, text })),
      );
      const size = chunkSize(items.length, Math.min(limit, MAX_CHUNK_EVENTS));
      for (let from = 0; from < items.length && failure === undefined; from += size) {
        const chunk = items.slice(from, from + size);
        const { keys, lengths } = streamRuns(chunk.map((item) => item.stream));
        try {
          const [added, error] = await redis.eval<(number | string)[], [number, string?]>(XADD_ALL, keys, [
            ...lengths,
            ...chunk.map((item) => item.text),
          ]);
          if (added < chunk.length) [delivered, failure] = [chunk[added]!.r, error ?? "XADD failed"];
        } catch (err) {
          [delivered, failure] = [chunk[0]!.r, err];
        }
      }
      if (failure === undefined && delivered < pending.length) failure = unreadable;
      if (delivered > 0) {
        const sent = pending.slice(0, delivered);
        // The hook and the mark side by side: both before the commit, so a relay that fails
        // calls the hook again for the page (at least once, as the stream).
        await Promise.all([
          onPublished?.(
            db,
            events.slice(0, delivered).flatMap((row) => row.envelopes()),
          ),
          tx.execute(markPublished(sent)),
        ]);
        published += events.slice(0, delivered).reduce((n, row) => n + row.texts.length, 0);
      }
      if (failure !== undefined) {
        const stuck = pending[delivered]!;
        const table = stuck.paged ? eventPages : eventOutbox;
        await tx
          .update(table)
          .set({ attempts: sql`${table.attempts} + 1`, lastError: String(failure).slice(0, 500) })
          .where(eq(table.id, BigInt(stuck.id)));
        // Keep per-stream order: stop at the first failure, the cron retries.
        const failed = eventCount(pending.slice(delivered));
        return { published, failed };
      }
      // A read short of `limit` held every row pending when it ran: reading again would find only
      // rows committed since, whose writers relay them (or the settler's next pass, or the cron).
      // One round trip less per pass: most of the object's passes read one page.
      if (!filledRead(pending, limit)) break;
    }
    return { published, failed: 0 };
  });
}

/**
 * The pending rows of both tables in id order, whole rows while their events total at most
 * `limit` (at least one row: a settled page's row holds one event per entry or two). Each table
 * read in its partial index's order and the two merged (the relay turns sorting off). The
 * envelopes as text: a single event is published as stored, never parsed and re-serialised.
 * Only the rows kept read their envelope (by key, after the event bound): the window over the
 * merged rows carried every envelope of up to `limit` rows, each page's ~30 kB decompressed and
 * copied, 28.9 -> 2.2 ms of Postgres CPU a read with 700 pages pending (of which it keeps 2).
 * The lookups by id need no `published_at` test: they share the statement's snapshot.
 */
export function pendingRows(limit: number): SQL {
  return sql`select p.id::text as id, p.stream, case when p.paged
        then (select g.envelope::text from ${eventPages} g where g.id = p.id)
        else (select o.envelope::text from ${eventOutbox} o where o.id = p.id) end as envelope,
      p.page_events, p.paged from (
      select r.*, sum(coalesce(r.page_events, 1)) over (order by r.id) - coalesce(r.page_events, 1) as before
      from ((select id, stream, page_events, false as paged from ${eventOutbox}
          where ${eventOutbox.publishedAt} is null order by ${eventOutbox.id} limit ${limit})
        union all
        (select id, stream, page_events, true from ${eventPages}
          where ${eventPages.publishedAt} is null order by ${eventPages.id} limit ${limit})
        order by id limit ${limit}) r) p
    where p.before < ${limit}
    order by p.id`;
}

/**
 * Whether a `pendingRows(limit)` read may have left pending rows unread: it took `limit` rows (a
 * table's own read or the union may have cut there) or `limit` events (the event bound cut).
 */
export function filledRead(rows: readonly Pick<PendingRow, "page_events">[], limit: number): boolean {
  return rows.length >= limit || eventCount(rows) >= limit;
}

/** The events `rows` carry: a page row its `page_events`, any other row one. */
function eventCount(rows: readonly Pick<PendingRow, "page_events">[]): number {
  return rows.reduce((n, row) => n + (row.page_events ?? 1), 0);
}

/** Marks delivered rows published, in whichever table each lives: one statement. */
export function markPublished(rows: readonly Pick<PendingRow, "id" | "paged">[]): SQL {
  const ids = (paged: boolean) => `{${rows.flatMap((r) => (r.paged === paged ? [r.id] : [])).join(",")}}`;
  return sql`with outbox as (update ${eventOutbox}
      set published_at = now(), attempts = ${eventOutbox.attempts} + 1
      where ${eventOutbox.id} = any(${ids(false)}::bigint[]) and ${eventOutbox.publishedAt} is null),
    pages as (update ${eventPages}
      set published_at = now(), attempts = ${eventPages.attempts} + 1
      where ${eventPages.id} = any(${ids(true)}::bigint[]) and ${eventPages.publishedAt} is null)
    select 1`;
}

/** Events not yet published (a page row counts its events) and when the oldest was written. */
export function pendingEventsQuery(): SQL {
  return sql`select coalesce(sum(n), 0)::text as n, min(oldest) as oldest from (
      select sum(coalesce(${eventOutbox.pageEvents}, 1)) as n, min(${eventOutbox.createdAt}) as oldest
      from ${eventOutbox} where ${eventOutbox.publishedAt} is null
      union all
      select sum(${eventPages.pageEvents}), min(${eventPages.createdAt})
      from ${eventPages} where ${eventPages.publishedAt} is null) t`;
}
