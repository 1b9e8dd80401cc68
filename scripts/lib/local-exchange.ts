import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { signWebhook } from "../../src/services/webhook-signature";
import { devSecrets } from "./dev-secrets";
import { writeDevVars } from "./dev-vars";
import { freePort } from "./free-port";
import { applyMigrations } from "./migrate";
import { openNodeDatabase } from "./node-database";
import { seedDemoData } from "./seed";
import { startWranglerDev, waitForStatus } from "./wrangler-dev";
import { FREE_PORTS } from "../stack/stack-info";
import { startStack } from "../stack/start-stack";

export interface LocalExchange {
  /** http://127.0.0.1:<port>: the web app at /, the API under /api. */
  base: string;
  db: ReturnType<typeof openNodeDatabase>["db"];
  secrets: Record<string, string>;
  admin: { email: string; password: string };
  stop(): Promise<void>;
}

/**
 * The whole exchange as `npm run dev` runs it (private stack on free ports, migrations, demo
 * data, `wrangler dev` serving the built web app), for browser tests, screenshots and the web
 * benchmark. Rate limits are lifted: one machine plays every user from 127.0.0.1.
 */
export async function startLocalExchange(name: string): Promise<LocalExchange> {
  const dataDir = mkdtempSync(join(tmpdir(), `pandora-${name}-`));
  chmodSync(dataDir, 0o755);
  const secrets = devSecrets({});
  const admin = { email: "admin@pandora.test", password: "a local admin pass phrase" };
  const stack = await startStack({
    dataDir: join(dataDir, "stack"),
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: FREE_PORTS,
  });
  const { db, pool } = openNodeDatabase(stack.info.databaseUrl, stack.info.neonWsProxy);
  let wrangler: Awaited<ReturnType<typeof startWranglerDev>> | undefined;
  const stop = async () => {
    await wrangler?.stop();
    await pool.end().catch(() => {});
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { info } = stack;
    const envFile = join(dataDir, "dev.vars");
    writeDevVars(
      envFile,
      {
        DATABASE_URL: info.databaseUrl,
        DATABASE_URL_DIRECT: info.directDatabaseUrl,
        NEON_WS_PROXY: info.neonWsProxy,
        NEON_FETCH_ENDPOINT: info.neonFetchEndpoint,
        UPSTASH_REDIS_REST_URL: info.redisRestUrl,
        ...secrets,
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        LOG_LEVEL: "warn",
        RATE_LIMIT_IP_PER_MINUTE: "1000000",
        RATE_LIMIT_USER_PER_MINUTE: "1000000",
        RATE_LIMIT_LOGIN_PER_15_MINUTES: "1000000",
      },
      "# Written by scripts/lib/local-exchange.ts for one run.",
    );
    await applyMigrations(info.databaseUrl, info.neonWsProxy);
    await seedDemoData(db, { adminEmail: admin.email, adminPassword: admin.password });
    wrangler = await startWranglerDev({
      port: await freePort(),
      envFile,
      persistTo: join(dataDir, "wrangler"),
      inheritLogs: process.env.PANDORA_WRANGLER_LOGS === "1",
    });
    await waitForStatus(`${wrangler.url}/ready`, 200, 60_000);
    return { base: wrangler.url, db, secrets, admin, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The verification token, as the mailer reads it from the user's `user.registered` event. */
export async function verificationToken(x: LocalExchange, email: string): Promise<string> {
  const { rows } = await x.db.execute<{ token: string }>(sql`
    select e.envelope->'payload'->'email_verification'->>'token' as token
    from event_outbox e join users u on u.id::text = e.envelope->>'user_id'
    where lower(u.email) = lower(${email}) and e.envelope->>'type' = 'user.registered'`);
  if (!rows[0]?.token) throw new Error(`no user.registered event for ${email}`);
  return rows[0].token;
}

/** The chain watcher: a signed deposit webhook with enough confirmations to credit at once. */
export async function deposit(
  x: LocalExchange,
  asset: string,
  address: string,
  amount: string,
): Promise<void> {
  const raw = JSON.stringify({
    asset,
    tx_hash: randomBytes(32).toString("hex"),
    vout: 0,
    address,
    amount,
    confirmations: asset === "BTC" ? 6 : 64,
  });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${x.base}/api/v1/webhooks/deposits`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-timestamp": ts,
      "x-webhook-signature": signWebhook(x.secrets.DEPOSIT_WEBHOOK_SECRET!, ts, raw),
    },
    body: raw,
  });
  if (!res.ok) throw new Error(`deposit webhook answered ${res.status}: ${await res.text()}`);
}
