import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  text,
  timestamp,
  type AnyPgColumn,
} from "drizzle-orm/pg-core";

/** The relay's record of a row: when it was written and published, its failed attempts. */
const delivery = () => ({
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  publishedAt: timestamp("published_at", { withTimezone: true }),
  attempts: integer("attempts").notNull().default(0),
  lastError: text("last_error"),
});

/** The rows waiting for the relay, in id order (it reads them by this index). */
const pendingIndex = (name: string, t: { id: AnyPgColumn; publishedAt: AnyPgColumn }) =>
  index(name)
    .on(t.id)
    .where(sql`${t.publishedAt} is null`);

/**
 * Domain events written in the same transaction as the change they describe, then relayed
 * to their Redis stream after commit (and by the cron for anything left), so a Redis outage
 * loses no event.
 */
export const eventOutbox = pgTable(
  "event_outbox",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    stream: text("stream").notNull(),
    /** The full envelope `{id, type, timestamp, user_id, payload, metadata}` as published. */
    envelope: jsonb("envelope").$type<Record<string, unknown>>().notNull(),
    /**
     * Set: `envelope` is a settled page's events in `settle_page`'s compact form, this many once
     * expanded by the relay (src/domain/events/settled-page-events.ts). Null: one envelope.
     * Only migration 0018's `settle_page` wrote such rows here; since 0021 they go to `event_pages`.
     */
    pageEvents: integer("page_events"),
    ...delivery(),
  },
  (t) => [pendingIndex("event_outbox_pending_idx", t)],
);

/**
 * Settled pages' events (`settle_page`, migration 0021): one row per page, in the compact form
 * the relay expands (src/domain/events/settled-page-events.ts). A table of their own so that a
 * relay of an older release, which reads `event_outbox` only, never publishes a page raw (it
 * leaves them to a current relay). Ids come from `event_outbox`'s sequence: the relay merges
 * both tables in id order, the order their transactions drew them, as one outbox.
 */
export const eventPages = pgTable(
  "event_pages",
  {
    id: bigint("id", { mode: "bigint" })
      .primaryKey()
      .default(sql`nextval('event_outbox_id_seq')`),
    stream: text("stream").notNull(),
    /**
     * `{id, timestamp, market, events: [[type, ...fields]]}` (settled-page-events.ts); json, not
     * jsonb: appended by settle_page and read back as text by the relay, never queried inside.
     */
    envelope: json("envelope").$type<Record<string, unknown>>().notNull(),
    /** How many events `envelope` expands to. */
    pageEvents: integer("page_events").notNull(),
    ...delivery(),
  },
  (t) => [pendingIndex("event_pages_pending_idx", t)],
);
