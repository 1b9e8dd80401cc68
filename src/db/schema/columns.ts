import { customType, timestamp } from "drizzle-orm/pg-core";

/**
 * An amount in an asset's smallest unit. `numeric(78,0)` because ETH has 18 decimals and a
 * Postgres bigint would cap balances near 9.2 ETH; JavaScript sees a bigint, never a float.
 */
export const minorUnits = customType<{ data: bigint; driverData: string }>({
  dataType: () => "numeric(78, 0)",
  toDriver: (value) => value.toString(),
  fromDriver: (value) => BigInt(value),
});

export const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();
