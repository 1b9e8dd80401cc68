import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { users } from "./users";

/**
 * API keys for bots. The secret is stored encrypted (AES-GCM, key from the
 * API_KEY_ENCRYPTION_KEY secret, the public key id as associated data), not hashed: the
 * server recomputes each request's HMAC with it.
 */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    /** The public identifier sent in `X-API-Key`. */
    keyId: text("key_id").notNull(),
    label: text("label").notNull(),
    /** base64 of IV (12 bytes) followed by the AES-GCM ciphertext and tag. */
    secretCiphertext: text("secret_ciphertext").notNull(),
    permissions: text("permissions").array().notNull(),
    /** Null: any address; otherwise exact client IPs. */
    ipAllowlist: text("ip_allowlist").array(),
    createdAt: createdAt(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** Order-entry limits for this key, over the account's (null: the account's). */
    orderLimitPer10s: integer("order_limit_per_10s"),
    orderLimitPerDay: integer("order_limit_per_day"),
  },
  (t) => [
    uniqueIndex("api_keys_key_id_key").on(t.keyId),
    index("api_keys_user_idx").on(t.userId),
    check("api_keys_order_limits_positive", sql`${t.orderLimitPer10s} > 0 and ${t.orderLimitPerDay} > 0`),
    check("api_keys_permissions_valid", sql`${t.permissions} <@ array['read','trade','withdraw']::text[]`),
  ],
);
