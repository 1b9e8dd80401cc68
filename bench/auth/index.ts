import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { request } from "undici";
import { devSecrets } from "../../scripts/lib/dev-secrets";
import { freePort } from "../../scripts/lib/free-port";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { offlineWranglerEnv } from "../../scripts/lib/wrangler-dev";
import { startStack } from "../../scripts/stack/start-stack";
import { closedLoop, summarize, type LoadFigures } from "./load";

// npm run bench:auth — the Worker itself (bundled by wrangler, run by the Miniflare API: no
// reloading proxy, no local request tracing) against the local Postgres + Redis stack.
// GET /users/me and POST /auth/refresh at 50 connections beside GET /health (no I/O) as the
// floor, and login latency one at a time (Argon2id is CPU-bound on one workerd thread).

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const LOGINS = Number(process.env.BENCH_LOGINS ?? CONNECTIONS);
const PASSWORD = "benchmark pass phrase";

function wranglerVars(): Record<string, string> {
  // The development [vars] of wrangler.toml (top-level table, before any [env.*]).
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const section = toml.split(/^\[vars\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries(
    [...section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

function bundle(outdir: string): string {
  const result = spawnSync(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    { cwd: ROOT, env: offlineWranglerEnv(), encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`wrangler bundle failed:\n${result.stdout}\n${result.stderr}`);
  return join(outdir, "index.js");
}

const ms = (n: number) => n.toFixed(1);

function row(name: string, f: LoadFigures): string {
  return `| ${name} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${f.rps.toFixed(0)} | ${f.requests} | ${f.errors} |`;
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "pandora-bench-auth-"));
  chmodSync(dataDir, 0o755);
  const secrets = devSecrets({});
  console.error("starting the local stack…");
  const stack = await startStack({
    dataDir,
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: { pg: 0, pgProxy: 0, redis: 0, redisRest: 0 },
  });
  let mf: Miniflare | undefined;
  try {
    const { info } = stack;
    await applyMigrations(info.databaseUrl, info.neonWsProxy);
    const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
    await seedDemoData(db, {
      adminEmail: "admin@bench.test",
      adminPassword: "bench admin pass phrase",
    }).finally(() => pool.end());

    console.error("bundling the Worker…");
    const script = bundle(join(dataDir, "dist"));
    const port = await freePort();
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port,
        workers: [
          {
            name: "pandora-exchange",
            modules: true,
            scriptPath: script,
            modulesRoot: join(dataDir, "dist"),
            compatibilityDate: "2026-10-01",
            durableObjects: { ORDER_BOOK: "OrderBook" },
            bindings: {
              ...wranglerVars(),
              ...secrets,
              LOG_LEVEL: "warn",
              DATABASE_URL: info.databaseUrl,
              NEON_WS_PROXY: info.neonWsProxy,
              UPSTASH_REDIS_REST_URL: info.redisRestUrl,
              // One client hammering one account: lift the IP, per-user and login limits (still checked
              // in Redis on every request, so their cost is in the figures).
              RATE_LIMIT_IP_PER_MINUTE: "1000000000",
              RATE_LIMIT_USER_PER_MINUTE: "1000000000",
              RATE_LIMIT_LOGIN_PER_15_MINUTES: "1000000000",
            },
          },
        ],
      }),
    );
    const base = (await mf.ready).toString().replace(/\/$/, "");
    const post = async (path: string, body: unknown) => {
      const res = await request(base + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`${path} → ${res.statusCode} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };

    const email = `bench-${Date.now()}@example.test`;
    await post("/api/v1/auth/register", {
      email,
      password: PASSWORD,
      first_name: "Bench",
      last_name: "Mark",
    });

    console.error(`logging in ${LOGINS} times, one at a time…`);
    const loginSamples: number[] = [];
    const refreshTokens: string[] = [];
    let accessToken = "";
    const loginStarted = performance.now();
    for (let i = 0; i < LOGINS; i++) {
      const t0 = performance.now();
      const pair = await post("/api/v1/auth/login", {
        email,
        password: PASSWORD,
        device_label: `bench ${i}`,
      });
      loginSamples.push(performance.now() - t0);
      refreshTokens.push(pair.refresh_token as string);
      accessToken = pair.access_token as string;
    }
    const loginFigures = summarize(loginSamples.slice(2), 0, (performance.now() - loginStarted) / 1000);

    console.error(`GET /health (floor), ${CONNECTIONS} connections, ${SECONDS} s…`);
    const floor = await closedLoop(base, CONNECTIONS, SECONDS, WARMUP_SECONDS, () => ({
      method: "GET",
      path: "/health",
    }));
    console.error("GET /api/v1/users/me…");
    const me = await closedLoop(base, CONNECTIONS, SECONDS, WARMUP_SECONDS, () => ({
      method: "GET",
      path: "/api/v1/users/me",
      headers: { authorization: `Bearer ${accessToken}` },
    }));
    console.error("POST /api/v1/auth/refresh (each connection rotates its own session)…");
    const tokens = refreshTokens.slice(0, CONNECTIONS);
    while (tokens.length < CONNECTIONS) tokens.push(tokens[tokens.length % LOGINS]!);
    const refresh = await closedLoop(
      base,
      CONNECTIONS,
      SECONDS,
      WARMUP_SECONDS,
      (w) => ({
        method: "POST",
        path: "/api/v1/auth/refresh",
        body: JSON.stringify({ refresh_token: tokens[w] }),
      }),
      (w, body) => {
        tokens[w] = (JSON.parse(body) as { refresh_token: string }).refresh_token;
      },
    );

    const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const report = [
      `### Run of ${when} (${CONNECTIONS} connections, ${SECONDS} s per route after ${WARMUP_SECONDS} s warm-up)`,
      "",
      `Machine: ${cpus().length} CPUs, load average at the end ${loadavg()
        .map((n) => n.toFixed(1))
        .join(" / ")} (1 / 5 / 15 min).`,
      "",
      "| route | p50 ms | p95 ms | p99 ms | req/s | requests | errors |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      row("GET /health (floor)", floor),
      row("GET /api/v1/users/me", me),
      row("POST /api/v1/auth/refresh", refresh),
      "",
      `Login, one at a time (${loginFigures.requests} logins): p50 ${ms(loginFigures.p50)} ms, p95 ${ms(loginFigures.p95)} ms.`,
      "",
      `Targets: /users/me p95 < 50 ms (${me.p95 < 50 ? "met" : "MISSED"}) and ≤ 2× the floor's p95 ` +
        `(${ms(me.p95)} vs 2 × ${ms(floor.p95)}: ${me.p95 <= 2 * floor.p95 ? "met" : "MISSED"}); ` +
        `login p95 < 500 ms (${loginFigures.p95 < 500 ? "met" : "MISSED"}).`,
    ].join("\n");
    console.log(report);
    if (process.env.BENCH_WRITE !== "false") {
      const out = join(dataDir, "auth-bench.md");
      writeFileSync(out, report + "\n");
      console.error(`(also written to ${out} until cleanup)`);
    }
  } finally {
    await mf?.dispose().catch(() => {});
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
