import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { request } from "undici";
import { sql } from "drizzle-orm";
import { devSecrets } from "../../scripts/lib/dev-secrets";
import { freePort } from "../../scripts/lib/free-port";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { bundleWorker } from "../../scripts/lib/wrangler-dev";
import { startStack, type StackInfo } from "../../scripts/stack/start-stack";
import { connectProfiler, type CpuProfiler } from "./cpu-profile";
import { objectStorageDir } from "./object-storage";
import { FREE_PORTS } from "../../scripts/stack/stack-info";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EXPLAIN_MS = process.env.BENCH_EXPLAIN_MS;

/** auto_explain for every later session of the database (with the actual rows and times). */
async function explainSlowStatements(
  db: ReturnType<typeof openNodeDatabase>["db"],
  ms: string,
): Promise<void> {
  const settings = {
    session_preload_libraries: "auto_explain",
    "auto_explain.log_min_duration": `${Number(ms)}ms`,
    "auto_explain.log_nested_statements": "on",
    "auto_explain.log_analyze": "on",
  };
  for (const [name, value] of Object.entries(settings)) {
    await db.execute(
      sql.raw(
        `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET ${name} = %L', current_database(), '${value}'); END $$`,
      ),
    );
  }
}

/** The admin account the benchmark's stack is seeded with. */
export const BENCH_ADMIN = { email: "admin@bench.test", password: "bench admin pass phrase" };

/** The development [vars] of wrangler.toml (top-level table, before any [env.*]). */
function wranglerVars(): Record<string, string> {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const section = toml.split(/^\[vars\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries(
    [...section.matchAll(/^([A-Z0-9_]+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1]!, m[2]!]),
  );
}

export interface WorkerUnderTest {
  /** http://127.0.0.1:<port> of the Worker's own workerd socket. */
  base: string;
  info: StackInfo;
  dataDir: string;
  /** POSTs JSON and returns the parsed reply; throws on any non-2xx. */
  post(path: string, body: unknown): Promise<Record<string, unknown>>;
  /** Profiles a phase when `BENCH_PROFILE=<dir>` is set; otherwise just runs it. */
  profile<T>(name: string, run: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The Worker itself for a benchmark: a private local stack (migrated and seeded), the bundle
 * from wrangler, run by the Miniflare API on its own port — no `wrangler dev` reloading proxy
 * and no local request tracing. Rate limits are lifted (still checked in Redis on every
 * request, so their cost stays in the figures) because a benchmark is one client hammering.
 */
export async function startWorkerUnderTest(name: string): Promise<WorkerUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), `pandora-bench-${name}-`));
  chmodSync(dataDir, 0o755);
  const storageDir = objectStorageDir(name);
  const secrets = devSecrets({});
  console.error("starting the local stack…");
  const stack = await startStack({
    dataDir,
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: FREE_PORTS,
    inheritLogs: EXPLAIN_MS !== undefined,
  });
  let mf: Miniflare | undefined;
  let profiler: CpuProfiler | undefined;
  const close = async () => {
    profiler?.close();
    await mf?.dispose().catch(() => {});
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(storageDir, { recursive: true, force: true });
  };
  try {
    const { info } = stack;
    await applyMigrations(info.databaseUrl, info.neonWsProxy);
    const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
    // BENCH_EXPLAIN_MS=<ms>: Postgres logs the plan of every statement (nested ones in functions
    // included) that took longer, with the stack's logs on stderr: where a statement's time goes.
    if (EXPLAIN_MS) await explainSlowStatements(db, EXPLAIN_MS);
    await seedDemoData(db, {
      adminEmail: BENCH_ADMIN.email,
      adminPassword: BENCH_ADMIN.password,
    }).finally(() => pool.end());

    console.error("bundling the Worker…");
    const script = bundleWorker(join(dataDir, "dist"));
    const profileDir = process.env.BENCH_PROFILE;
    const inspectorPort = profileDir ? await freePort() : undefined;
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: await freePort(),
        resourcePersistencePath: storageDir,
        ...(inspectorPort ? { inspectorPort } : {}),
        workers: [
          {
            name: "pandora-exchange",
            modules: true,
            scriptPath: script,
            modulesRoot: join(dataDir, "dist"),
            compatibilityDate: "2026-10-01",
            durableObjects: {
              ORDER_BOOK: { className: "OrderBook", useSQLite: true },
              STREAM_HUB: { className: "StreamHub", useSQLite: true },
              ACCOUNT_STREAM: { className: "AccountStream", useSQLite: true },
            },
            bindings: {
              ...wranglerVars(),
              ...secrets,
              // BENCH_LOG_LEVEL=debug shows the Worker's and objects' logs (e.g. why settlement left a page to the planner).
              LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
              DATABASE_URL: info.databaseUrl,
              DATABASE_URL_DIRECT: info.directDatabaseUrl,
              NEON_WS_PROXY: info.neonWsProxy,
              NEON_FETCH_ENDPOINT: info.neonFetchEndpoint,
              UPSTASH_REDIS_REST_URL: info.redisRestUrl,
              RATE_LIMIT_IP_PER_MINUTE: "1000000000",
              RATE_LIMIT_USER_PER_MINUTE: "1000000000",
              RATE_LIMIT_LOGIN_PER_15_MINUTES: "1000000000",
            },
          },
        ],
      }),
    );
    const base = (await mf.ready).toString().replace(/\/$/, "");
    if (profileDir && inspectorPort) {
      profiler = await connectProfiler(inspectorPort, profileDir);
      // The profiles name the bundle's lines: profile-summary maps them back to modules with it.
      copyFileSync(script, join(profileDir, "worker.js"));
    }
    const profile = <T>(name: string, run: () => Promise<T>) =>
      profiler ? profiler.around(name, run) : run();
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
    return { base, info, dataDir, post, profile, close };
  } catch (err) {
    await close();
    throw err;
  }
}
