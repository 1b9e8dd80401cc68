import { sql } from "drizzle-orm";
import { bigserial, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

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
     */
    pageEvents: integer("page_events"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
  },
  (t) => [
    index("event_outbox_pending_idx")
      .on(t.id)
      .where(sql`${t.publishedAt} is null`),
  ],
);
