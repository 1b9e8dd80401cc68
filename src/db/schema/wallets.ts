import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, minorUnits, updatedAt } from "./columns";
import { assets, chain } from "./markets";
import { users } from "./users";

/**
 * The ledger's accounts (see src/services/ledger.ts for the model). Two per user and asset
 * (available, locked), the rest are the exchange's own accounts.
 */
export const ledgerAccount = pgEnum("ledger_account", [
  "user_available",
  "user_locked",
  "fee_income",
  "external_deposits",
  "external_withdrawals",
  "adjustments",
]);

/**
 * A user's funds in one asset: a cache of the sums of the user's postings, kept in the same
 * transaction as the postings, so a conditional UPDATE can refuse an overspend. Only the
 * ledger module writes here.
 */
export const balances = pgTable(
  "balances",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    asset: text("asset")
      .notNull()
      .references(() => assets.code),
    available: minorUnits("available")
      .notNull()
      .default(sql`0`),
    locked: minorUnits("locked")
      .notNull()
      .default(sql`0`),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.asset] }),
    check("balances_non_negative", sql`${t.available} >= 0 and ${t.locked} >= 0`),
  ],
);

/** One movement of money: its postings sum to zero per asset. `(type, reference)` makes a replay a no-op. */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    type: text("type").notNull(),
    reference: text("reference").notNull(),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("ledger_entries_type_reference_key").on(t.type, t.reference)],
);

/** A signed amount on one account: positive increases the account, negative decreases it. */
export const ledgerPostings = pgTable(
  "ledger_postings",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    // No foreign keys: every writer writes the entry, and each user posting's balance row, in
    // the same statement (docs/decisions/0015-posting-references-checked-per-entry.md).
    entryId: bigint("entry_id", { mode: "bigint" }).notNull(),
    account: ledgerAccount("account").notNull(),
    /** Set exactly for the user accounts. */
    userId: uuid("user_id"),
    asset: text("asset").notNull(),
    amount: minorUnits("amount").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("ledger_postings_entry_idx").on(t.entryId),
    index("ledger_postings_user_idx").on(t.userId, t.id),
    index("ledger_postings_asset_account_idx").on(t.asset, t.account),
    check("ledger_postings_non_zero", sql`${t.amount} <> 0`),
    check(
      "ledger_postings_user_accounts",
      sql`(${t.userId} is not null) = (${t.account} in ('user_available', 'user_locked'))`,
    ),
  ],
);

/**
 * One derived address per user and chain: `m/.../0/{derivation_index}` under the chain's
 * account xpub. ERC-20 tokens (USDT, USDC) share the user's Ethereum address.
 */
export const depositAddresses = pgTable(
  "deposit_addresses",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    chain: chain("chain").notNull(),
    derivationIndex: integer("derivation_index").notNull(),
    address: text("address").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("deposit_addresses_user_chain_key").on(t.userId, t.chain),
    uniqueIndex("deposit_addresses_chain_index_key").on(t.chain, t.derivationIndex),
    uniqueIndex("deposit_addresses_chain_address_key").on(t.chain, sql`lower(${t.address})`),
    check("deposit_addresses_index_range", sql`${t.derivationIndex} between 0 and 2147483647`),
  ],
);

export const depositStatus = pgEnum("deposit_status", ["pending", "credited"]);

/** A deposit seen by the chain watcher, credited once its asset's confirmations are reached. */
export const deposits = pgTable(
  "deposits",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    asset: text("asset")
      .notNull()
      .references(() => assets.code),
    txHash: text("tx_hash").notNull(),
    vout: integer("vout").notNull(),
    address: text("address").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    amount: minorUnits("amount").notNull(),
    confirmations: integer("confirmations").notNull(),
    status: depositStatus("status").notNull().default("pending"),
    creditedAt: timestamp("credited_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("deposits_asset_tx_vout_key").on(t.asset, t.txHash, t.vout),
    index("deposits_user_idx").on(t.userId, t.createdAt),
    check("deposits_positive", sql`${t.amount} > 0 and ${t.vout} >= 0 and ${t.confirmations} >= 0`),
  ],
);

export const withdrawalStatus = pgEnum("withdrawal_status", [
  "pending_approval",
  "approved",
  "sent",
  "completed",
  "rejected",
  "cancelled",
]);

/**
 * A withdrawal request. `amount` leaves the user's balance; `fee` of it goes to fee income and
 * the rest (`amount - fee`) to the destination address.
 */
export const withdrawals = pgTable(
  "withdrawals",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    asset: text("asset")
      .notNull()
      .references(() => assets.code),
    address: text("address").notNull(),
    amount: minorUnits("amount").notNull(),
    fee: minorUnits("fee").notNull(),
    status: withdrawalStatus("status").notNull(),
    idempotencyKey: text("idempotency_key"),
    txHash: text("tx_hash"),
    reviewedBy: uuid("reviewed_by").references(() => users.id),
    reason: text("reason"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    completedAt: timestamp("completed_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("withdrawals_user_idempotency_key").on(t.userId, t.idempotencyKey),
    index("withdrawals_user_idx").on(t.userId, t.createdAt),
    index("withdrawals_status_idx").on(t.status, t.createdAt),
    check("withdrawals_amounts", sql`${t.fee} >= 0 and ${t.amount} > ${t.fee}`),
  ],
);
