import type { Redis } from "@upstash/redis/cloudflare";
import { eq, sql, type SQL } from "drizzle-orm";
import type { Database, DbExecutor } from "../../db/client";
import { jsonRowsInsert } from "../../db/json-insert";
import { eventOutbox, eventPages } from "../../db/schema";
import type { RequestMetadata } from "../../http/request-metadata";
import { PublishedEvents } from "./published-events";
import { requestSizes, xaddRowsArguments, XADD_ROWS } from "./xadd-rows-script";

export { STREAM_MAX_LENGTH } from "./xadd-rows-script";

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

/** Arbitrary constant naming the relay's advisory lock: every release's relay takes this one. */
export const RELAY_LOCK_KEY = 7_301_001;

/**
 * Called with the events of each round the relay published, in order and under its lock, before
 * their rows are marked published (a relay that fails after it calls it again: consumers dedupe
 * on `id`). Lazily: the events are built only if it asks, and for the users it names. The user
 * data stream's fan-out (src/binance/user-data/forward.ts) is one.
 */
export type OnPublished = (db: Database, events: PublishedEvents) => Promise<void>;

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
  let published = 0;
  // A pass is bounded by events, not rounds alone: a round takes at least one whole row, and a
  // settled page's row can hold thousands (ten such rounds were ~40,000 XADDs).
  for (let round = 0; round < MAX_ROUNDS && published < MAX_ROUNDS * limit; round++) {
    const result = await relayRound(db, redis, limit, waitForLock, onPublished);
    published += result.published;
    if (result.failed > 0 || !result.more) return { published, failed: result.failed };
  }
  return { published, failed: 0 };
}

/**
 * A request's events at most: `XADD_ROWS` blocks Redis while it runs (~5 µs an event, most of it
 * the page's expansion), so a request is a few ms; a request carries whole rows, so a larger page
 * goes alone. And its text, for the REST body (the page's ~100 bytes an event, escaped again).
 */
const MAX_REQUEST_EVENTS = 2_000;
const MAX_REQUEST_CHARS = 512 * 1024;

const LOCK_RETRIES = 4;
const LOCK_RETRY_MS = 25;
const MAX_ROUNDS = 10;

/** One round's outcome; `more`: its read may have left pending rows unread. */
type RoundResult = RelayResult & { more: boolean };

/** One round under the relay lock, retried a few times (`waitForLock: false`) while another relay holds it. */
async function relayRound(
  db: Database,
  redis: Redis,
  limit: number,
  waitForLock: boolean,
  onPublished: OnPublished | undefined,
): Promise<RoundResult> {
  for (let attempt = 0; ; attempt++) {
    const result = await roundUnderLock(db, redis, limit, waitForLock, onPublished);
    if (result || attempt === LOCK_RETRIES) return result ?? { published: 0, failed: 0, more: false };
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS * (attempt + 1)));
  }
}

/**
 * Publishes one read of pending rows while holding the relay lock, in its own transaction; null
 * when another relay holds the lock. A transaction a round, not a pass: a pass of the market
 * object's relay is up to ~50,000 events and seconds long, and one transaction for all of it held
 * back Postgres' cleanup of the hot tables' old row versions for that long and, ended by a crash,
 * put every round's events out again.
 */
async function roundUnderLock(
  db: Database,
  redis: Redis,
  limit: number,
  waitForLock: boolean,
  onPublished: OnPublished | undefined,
): Promise<RoundResult | null> {
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
    const { rows: pending } = await tx.execute<PendingRow>(pendingRows(limit));
    if (pending.length === 0) return { published: 0, failed: 0, more: false };
    const { delivered, failure } = await publishRows(redis, pending);
    const sent = pending.slice(0, delivered);
    if (delivered > 0) {
      // The hook and the mark side by side: both before the commit, so a relay that fails
      // calls the hook again for the rows (at least once, as the stream).
      await Promise.all([onPublished?.(db, new PublishedEvents(sent)), tx.execute(markPublished(sent))]);
    }
    if (failure !== undefined) {
      const stuck = pending[delivered]!;
      const table = stuck.paged ? eventPages : eventOutbox;
      await tx
        .update(table)
        .set({ attempts: sql`${table.attempts} + 1`, lastError: String(failure).slice(0, 500) })
        .where(eq(table.id, BigInt(stuck.id)));
      // Keep per-stream order: stop at the first failure, the cron retries.
      return { published: eventCount(sent), failed: eventCount(pending.slice(delivered)), more: false };
    }
    // A read short of `limit` held every row pending when it ran: reading again would find only
    // rows committed since, whose writers relay them (or the settler's next pass, or the cron).
    // One round trip less per pass: most of the object's passes read one page.
    return { published: eventCount(sent), failed: 0, more: filledRead(pending, limit) };
  });
}

/**
 * Publishes the rows in order: whole rows a request, ONE command each (`XADD_ROWS`: it expands
 * the pages and runs the XADDs in order), every request of the round in ONE pipeline (one round
 * trip: under the trading benchmark's load a request's round trip was 20-100 ms, of which its
 * script ran 4-20). Redis serves other clients between the requests. A request stops at a failed
 * XADD or an unreadable page and answers how many rows went whole before it, and marks the round
 * stopped, so the round's later requests add nothing; a page it stopped in goes out again whole
 * later (at least once; consumers dedupe on the envelope's id). Answers how many rows went whole,
 * and why the next did not.
 */
async function publishRows(
  redis: Redis,
  rows: readonly PendingRow[],
): Promise<{ delivered: number; failure?: unknown }> {
  const sizes = requestSizes(rows, MAX_REQUEST_EVENTS, MAX_REQUEST_CHARS);
  const round = crypto.randomUUID();
  const pipeline = redis.pipeline();
  let start = 0;
  for (const size of sizes) {
    const { keys, args } = xaddRowsArguments(rows.slice(start, start + size), round);
    pipeline.eval(XADD_ROWS, keys, args);
    start += size;
  }
  let replies: { result?: unknown; error?: string }[];
  try {
    replies = await pipeline.exec({ keepErrors: true });
  } catch (err) {
    return { delivered: 0, failure: err };
  }
  let delivered = 0;
  for (const [i, size] of sizes.entries()) {
    const { result, error } = replies[i] ?? { result: undefined, error: "no reply" };
    if (error !== undefined) return { delivered, failure: error };
    const [added, reason] = result as [number, string?];
    delivered += added;
    if (added < size) return { delivered, failure: reason ?? "XADD failed" };
  }
  return { delivered };
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
