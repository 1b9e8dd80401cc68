import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { applyMigrations, MigrationLockTimeout } from "../../scripts/lib/migrate";
import { startNeonWsProxy, type RunningNeonWsProxy } from "../../scripts/stack/neon-ws-proxy";
import { startStack, type RunningStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";

// Production migrates over a direct connection (no PgBouncer, which ignores startup options):
// here a second WebSocket proxy straight to the stack's Postgres stands for it.
const dataDir = mkdtempSync(join(tmpdir(), "pandora-migrate-lock-"));
let stack: RunningStack;
let direct: RunningNeonWsProxy;

beforeAll(async () => {
  chmodSync(dataDir, 0o755);
  stack = await startStack({ dataDir, ports: FREE_PORTS });
  direct = await startNeonWsProxy({ port: 0, target: { host: "127.0.0.1", port: stack.info.pgPort } });
});

afterAll(async () => {
  await direct?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

it("a migration blocked by an open transaction gives up with a clear error instead of waiting", async () => {
  const proxy = `127.0.0.1:${direct.port}/v2`;
  await applyMigrations(stack.info.databaseUrl, proxy);
  // An open transaction holding a table the migrator reads (as the reconcile cron holds trades).
  const holder = new pg.Client({ connectionString: stack.info.directDatabaseUrl });
  await holder.connect();
  try {
    await holder.query("begin");
    await holder.query("lock table drizzle.__drizzle_migrations in access exclusive mode");
    const started = Date.now();
    const error = await applyMigrations(stack.info.databaseUrl, proxy).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(MigrationLockTimeout);
    expect((error as Error).message).toMatch(/waited 2s for a table lock .*\(nothing applied\)/);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    await holder.end();
  }
  await applyMigrations(stack.info.databaseUrl, proxy); // the lock gone: it applies (nothing left)
});
