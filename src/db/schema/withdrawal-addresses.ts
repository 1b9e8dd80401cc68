import { index, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt } from "./columns";
import { assets } from "./markets";
import { users } from "./users";

/**
 * A user's withdrawal address allow-list. A new entry is usable only from `usable_after` (24 h
 * after it was added), so a stolen session cannot add an address and withdraw to it at once.
 * `address_key` is the address as compared (lowercase where the chain ignores case).
 */
export const withdrawalAddresses = pgTable(
  "withdrawal_addresses",
  {
    id: uuid("id").primaryKey().defaultRandom(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id),
    asset: text("asset")
      .notNull()
      .references(() => assets.code),
    address: text("address").notNull(),
    addressKey: text("address_key").notNull(),
    label: text("label"),
    createdAt: createdAt(),
    usableAfter: timestamp("usable_after", { withTimezone: true }).notNull(),
  },
  (t) => [
    uniqueIndex("withdrawal_addresses_user_asset_key").on(t.userId, t.asset, t.addressKey),
    index("withdrawal_addresses_user_idx").on(t.userId, t.createdAt),
  ],
);
