import { bigint, pgTable, text } from "drizzle-orm/pg-core";

/**
 * One row per market: the epoch of its object's funds locks (migrations/0022_market_lock_fence.sql).
 * A starting object raises it, and every funds lock must carry the current one: no lock of an
 * earlier incarnation commits after the new one has looked for what it left.
 */
export const marketLockFences = pgTable("market_lock_fences", {
  market: text("market").primaryKey(),
  epoch: bigint("epoch", { mode: "number" }).notNull(),
});
