import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devSecrets } from "../../scripts/lib/dev-secrets";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { startStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";

export const TEST_ADMIN = { email: "admin@pandora.test", password: "correct horse battery staple" };

declare module "vitest" {
  export interface ProvidedContext {
    stackBindings: Record<string, string>;
  }
}

/**
 * Starts a private local stack (free ports, a temporary data dir) for the integration tests,
 * migrates and seeds it, and hands its endpoints and test secrets to the Worker's bindings.
 * The stack is a supervisor in its own process group tied to this process by a stdin pipe,
 * so it stops even when vitest is killed and never runs this teardown.
 */
export default async function setup(project: TestProject) {
  const dataDir = mkdtempSync(join(tmpdir(), "pandora-test-"));
  chmodSync(dataDir, 0o755);
  const secrets = devSecrets({});
  const stack = await startStack({
    dataDir,
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: FREE_PORTS,
  });
  const { info } = stack;
  await applyMigrations(info.databaseUrl, info.neonWsProxy);
  const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
  await seedDemoData(db, { adminEmail: TEST_ADMIN.email, adminPassword: TEST_ADMIN.password }).finally(() =>
    pool.end(),
  );

  project.provide("stackBindings", {
    ...secrets,
    DATABASE_URL: info.databaseUrl,
    DATABASE_URL_DIRECT: info.directDatabaseUrl,
    NEON_WS_PROXY: info.neonWsProxy,
    NEON_FETCH_ENDPOINT: info.neonFetchEndpoint,
    UPSTASH_REDIS_REST_URL: info.redisRestUrl,
    ADMIN_EMAIL: TEST_ADMIN.email,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    METRICS_SCRAPE_TOKEN: randomBytes(32).toString("hex"),
  });

  return async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
