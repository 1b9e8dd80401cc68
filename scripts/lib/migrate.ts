import { migrate } from "drizzle-orm/neon-serverless/migrator";
import { fileURLToPath } from "node:url";
import { openNodeDatabase } from "./node-database";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));

/** Applies every pending migration in migrations/ (drizzle's journal makes it idempotent). */
export async function applyMigrations(databaseUrl: string, wsProxy?: string): Promise<void> {
  const { db, pool } = openNodeDatabase(databaseUrl, wsProxy);
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await pool.end();
  }
}
