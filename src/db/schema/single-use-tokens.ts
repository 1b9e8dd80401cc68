import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { users } from "./users";

/**
 * A table of single-use, expiring tokens mailed to a user (email verification, password
 * reset); only the SHA-256 of a token is stored.
 */
export function singleUseTokenTable<const Name extends string>(name: Name) {
  return pgTable(
    name,
    {
      id: uuid("id").primaryKey().defaultRandom(),
      userId: uuid("user_id")
        .notNull()
        .references(() => users.id),
      tokenHash: text("token_hash").notNull(),
      createdAt: createdAt(),
      expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
      usedAt: timestamp("used_at", { withTimezone: true }),
    },
    (t) => [uniqueIndex(`${name}_hash_key`).on(t.tokenHash), index(`${name}_user_idx`).on(t.userId)],
  );
}
