import { sql } from "drizzle-orm";
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { users } from "./users";

/**
 * One row per refresh token. A login starts a family (`family_id`, which is the session id
 * the access token carries as `sid`); every refresh revokes its row with reason `rotated` and
 * inserts the next one with `parent_id` pointing back. Presenting a rotated token again is
 * reuse: the whole family is revoked. Only the SHA-256 of a token is stored.
 */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    familyId: uuid("family_id").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    parentId: uuid("parent_id"),
    /** Hex SHA-256 of the opaque refresh token. */
    tokenHash: text("token_hash").notNull(),
    deviceLabel: text("device_label"),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }).notNull().defaultNow(),
    /** Absolute expiry of the family (7 days after login), copied to every rotation. */
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    /** This token is dead if not used before then. */
    idleExpiresAt: timestamp("idle_expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** rotated | logout | logout_all | revoked | password_changed | reuse_detected | user_deleted */
    revokedReason: text("revoked_reason"),
  },
  (t) => [
    uniqueIndex("sessions_token_hash_key").on(t.tokenHash),
    index("sessions_family_idx").on(t.familyId),
    index("sessions_user_active_idx")
      .on(t.userId)
      .where(sql`${t.revokedAt} is null`),
  ],
);
