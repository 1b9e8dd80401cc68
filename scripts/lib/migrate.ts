import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { fileURLToPath } from "node:url";
import { openNodeDatabase } from "./node-database";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));

/**
 * How long a migration waits for a table's lock. Drizzle applies every pending migration in one
 * transaction; one that alters a table an open transaction holds (the reconcile-ledger cron's, a
 * long read) would wait for it, and every placement and settlement would queue behind that wait
 * (place_orders gives up after 3 s: NOT_BOOKED). Past this bound it gives up instead, nothing
 * applied, and the deploy tries again (docs/ops/deploy.md, step 3).
 */
export const MIGRATION_LOCK_TIMEOUT = "2s";

/** A migration gave up waiting for a lock (SQLSTATE 55P03): nothing was applied; try again. */
export class MigrationLockTimeout extends Error {}

function sqlState(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** Applies every pending migration in migrations/ (drizzle's journal makes it idempotent). */
export async function applyMigrations(databaseUrl: string, wsProxy?: string): Promise<void> {
  const { db, pool } = openNodeDatabase(databaseUrl, wsProxy, { lockTimeout: MIGRATION_LOCK_TIMEOUT });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (err) {
    if (sqlState(err) !== "55P03") throw err;
    throw new MigrationLockTimeout(
      `a migration waited ${MIGRATION_LOCK_TIMEOUT} for a table lock that an open transaction holds ` +
        `and gave up (nothing applied): run it again, in a quieter moment if it keeps failing`,
      { cause: err },
    );
  } finally {
    await pool.end();
  }
}
