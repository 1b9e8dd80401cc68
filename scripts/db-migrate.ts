// `npm run db:migrate`: applies migrations to DATABASE_URL (Neon or any Postgres the Neon
// driver reaches). Locally NEON_WS_PROXY points it at the stack's proxy; both are read from
// the environment first, then from .dev.vars.
import { readDevVars } from "./lib/dev-vars";
import { applyMigrations, MigrationLockTimeout } from "./lib/migrate";

const fileVars = readDevVars(".dev.vars");
const databaseUrl = process.env.DATABASE_URL ?? fileVars.DATABASE_URL;
const wsProxy = process.env.NEON_WS_PROXY ?? fileVars.NEON_WS_PROXY;
if (!databaseUrl) {
  console.error("db:migrate: set DATABASE_URL (or run `npm run dev` once to write .dev.vars)");
  process.exit(1);
}
const started = Date.now();
try {
  await applyMigrations(databaseUrl, wsProxy || undefined);
} catch (err) {
  if (!(err instanceof MigrationLockTimeout)) throw err;
  console.error(`db:migrate: ${err.message}`);
  process.exit(75); // EX_TEMPFAIL: the deploy job retries (.github/workflows/deploy.yml)
}
console.log(`db:migrate: migrations applied in ${Date.now() - started} ms`);
