// `npm run dev`: the whole exchange on this machine, no cloud account. Starts the local stack
// (Postgres behind PgBouncer, its WebSocket proxy and HTTP query endpoint; Redis and its
// Upstash-REST shim), writes .dev.vars, applies migrations, seeds demo data, runs `wrangler dev`
// on 127.0.0.1:$PORT, and stops it all on Ctrl-C.
import { fileURLToPath } from "node:url";
import { readDevVars, writeDevVars } from "./lib/dev-vars";
import { devSecrets } from "./lib/dev-secrets";
import { applyMigrations } from "./lib/migrate";
import { openNodeDatabase } from "./lib/node-database";
import { seedDemoData } from "./lib/seed";
import { startWranglerDev, waitForStatus, type WranglerDev } from "./lib/wrangler-dev";
import { ensureSystemPrograms, thisSystem } from "./lib/system-packages";
import { holdPort } from "./stack/ports";
import { startStack } from "./stack/start-stack";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env.PORT ?? 8787);
const devVarsPath = process.env.PANDORA_DEV_VARS ?? `${ROOT}.dev.vars`;
const say = (msg: string) => console.log(`[dev] ${msg}`);

// redis-server and pgbouncer: installed here as root (apt-get), else the command to run.
if (!ensureSystemPrograms(thisSystem(say))) process.exit(1);

const existing = readDevVars(devVarsPath);
const secrets = devSecrets(existing);
const adminEmail = process.env.ADMIN_EMAIL ?? existing.ADMIN_EMAIL ?? "admin@pandora.local";
const adminPassword = process.env.ADMIN_PASSWORD ?? existing.ADMIN_PASSWORD ?? "pandora-admin-dev";
if (!process.env.ADMIN_EMAIL && !existing.ADMIN_EMAIL) say(`ADMIN_EMAIL unset: using ${adminEmail}`);
if (!process.env.ADMIN_PASSWORD && !existing.ADMIN_PASSWORD)
  say(`ADMIN_PASSWORD unset: using ${adminPassword}`);

// wrangler dev's port, held until wrangler starts: a stack port chosen free (PANDORA_*_PORT=0)
// can then never be it.
const portHold = await holdPort(port).catch((err: unknown) => {
  console.error(`[dev] 127.0.0.1:${port} is not free (${String(err)}); set PORT to another port`);
  process.exit(1);
});
// The shim must accept the token the Worker will send. Data dir and ports come from the
// PANDORA_STACK_DATA_DIR and PANDORA_*_PORT variables (see scripts/stack/README.md).
const stack = await startStack({ token: secrets.UPSTASH_REDIS_REST_TOKEN, inheritLogs: true });
let wrangler: WranglerDev | undefined;
let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say("stopping…");
    await wrangler?.stop();
    await stack.stop();
    say("stopped; nothing left running");
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void shutdown(0));

try {
  const { info } = stack;
  writeDevVars(
    devVarsPath,
    {
      ...existing,
      DATABASE_URL: info.databaseUrl,
      DATABASE_URL_DIRECT: info.directDatabaseUrl,
      NEON_WS_PROXY: info.neonWsProxy,
      NEON_FETCH_ENDPOINT: info.neonFetchEndpoint,
      UPSTASH_REDIS_REST_URL: info.redisRestUrl,
      ...secrets,
      ADMIN_EMAIL: adminEmail,
      ADMIN_PASSWORD: adminPassword,
    },
    "# Written by `npm run dev` for this checkout only. Never commit it (it is git-ignored).",
  );
  await applyMigrations(info.databaseUrl, info.neonWsProxy);
  say("migrations applied");
  const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
  const { adminCreated } = await seedDemoData(db, { adminEmail, adminPassword }).finally(() => pool.end());
  say(
    `demo data ready (BTC, ETH, USDT, USDC; BTC-USDT, ETH-USDT; admin ${adminEmail}${adminCreated ? " created" : ""})`,
  );

  await portHold.release();
  wrangler = await startWranglerDev({ port, envFile: devVarsPath, inheritLogs: true });
  wrangler.process.once("exit", (code) => {
    if (!stopping) {
      say(`wrangler dev exited (${code}); stopping the stack`);
      void shutdown(1);
    }
  });
  await waitForStatus(`${wrangler.url}/ready`, 200, 60_000);
  say("Pandora is up:");
  say(`  API        ${wrangler.url}/api/v1`);
  say(`  Docs       ${wrangler.url}/docs   (OpenAPI: ${wrangler.url}/openapi.json)`);
  say(`  WebSocket  ws://127.0.0.1:${port}/api/v1/ws`);
  say(`  Ready      ${wrangler.url}/ready`);
  say("Press Ctrl-C to stop everything.");
} catch (err) {
  console.error(`[dev] failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
