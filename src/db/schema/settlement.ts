import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  index,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { markets } from "./markets";

/**
 * Outbox entries that broke a settlement invariant (an order Postgres does not have, a fill
 * that would overdraw a lock, ...), set aside so the rest of their market settles on. The row
 * is written in the same transaction that moves the market's cursor past the entry, so an
 * entry is either settled or here, never both and never lost. `open` until an admin retries it
 * successfully (`settled`: it was applied then, in the retry's transaction).
 */
export const settlementQuarantine = pgTable(
  "settlement_quarantine",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    market: text("market")
      .notNull()
      .references(() => markets.symbol),
    /** The entry's outbox sequence and the epoch of the object that wrote it (null: older entry). */
    seq: bigint("seq", { mode: "number" }).notNull(),
    epoch: text("epoch"),
    /** The outbox entry as the order book wrote it. */
    entry: jsonb("entry").$type<Record<string, unknown>>().notNull(),
    /** Why it was set aside (the last retry's refusal replaces it). */
    reason: text("reason").notNull(),
    status: text("status", { enum: ["open", "settled"] })
      .notNull()
      .default("open"),
    createdAt: createdAt(),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    resolvedBy: uuid("resolved_by"),
  },
  (t) => [
    uniqueIndex("settlement_quarantine_entry_key").on(t.market, t.epoch, t.seq),
    index("settlement_quarantine_open_idx")
      .on(t.market, t.seq)
      .where(sql`${t.status} = 'open'`),
    index("settlement_quarantine_created_idx").on(t.createdAt, t.id),
    check("settlement_quarantine_status", sql`${t.status} in ('open', 'settled')`),
  ],
);
