import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, updatedAt } from "./columns";

export const userRole = pgEnum("user_role", ["user", "admin"]);
export const kycStatus = pgEnum("kyc_status", ["pending", "verified", "rejected"]);
/** `banned`: refused everywhere (HTTP, sockets, API keys, refresh) with 403 ACCOUNT_BANNED until made active again. */
export const userStatus = pgEnum("user_status", ["active", "banned"]);

export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    email: text("email").notNull(),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    /** PHC string: `$argon2id$v=19$m=...,t=...,p=...$salt$hash`. */
    passwordHash: text("password_hash").notNull(),
    role: userRole("role").notNull().default("user"),
    kycStatus: kycStatus("kyc_status").notNull().default("pending"),
    kycReason: text("kyc_reason"),
    status: userStatus("status").notNull().default("active"),
    emailVerifiedAt: timestamp("email_verified_at", { withTimezone: true }),
    /** Set while TOTP two-factor authentication is on (the secret lives in `user_totp`). */
    twoFactorEnabledAt: timestamp("two_factor_enabled_at", { withTimezone: true }),
    /** No withdrawal before this instant: set 24 h ahead by security-relevant changes. */
    withdrawalsHeldUntil: timestamp("withdrawals_held_until", { withTimezone: true }),
    /** Withdrawals only to allow-listed addresses that are past their waiting period. */
    withdrawalAllowlistOnly: boolean("withdrawal_allowlist_only").notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
    /** Order-entry limits set for this account (null: the exchange's default). */
    orderLimitPer10s: integer("order_limit_per_10s"),
    orderLimitPerDay: integer("order_limit_per_day"),
  },
  (t) => [
    // Unique regardless of case: `Alice@X.io` and `alice@x.io` are one account.
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    index("users_role_kyc_idx").on(t.role, t.kycStatus),
    check("users_email_len", sql`length(${t.email}) <= 254`),
    check("users_order_limits_positive", sql`${t.orderLimitPer10s} > 0 and ${t.orderLimitPerDay} > 0`),
  ],
);
