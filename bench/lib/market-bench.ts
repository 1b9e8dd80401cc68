// What the market and stream benchmarks share: the Worker and a helper Worker (market/bench-
// worker.ts: drives order books by RPC, hosts the empty-broadcast floor) in one workerd through
// the Miniflare API, on a private migrated and seeded stack; and WebSocket clients that time
// each event from the object's clock to its receipt.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import WebSocket from "ws";
import { devSecrets } from "../../scripts/lib/dev-secrets";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { bundleWorker } from "../../scripts/lib/wrangler-dev";
import { startStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";
import { objectStorageDir } from "./object-storage";

export function percentile(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The load average beside the figures (other work on a shared VM shows in the tails). */
export const loadAverage = () =>
  `${loadavg()
    .map((l) => l.toFixed(1))
    .join(" / ")} on ${availableParallelism()} cores`;

export interface MarketBench {
  base: string;
  wsBase: string;
  post(path: string, body: unknown): Promise<unknown>;
  get(path: string): Promise<unknown>;
  close(): Promise<void>;
}

function build(dir: string): { pandora: string; bench: string } {
  const out = join(dir, "pandora");
  bundleWorker(out);
  const bench = join(dir, "bench.js");
  buildSync({
    entryPoints: [fileURLToPath(new URL("../market/bench-worker.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["cloudflare:*"],
    outfile: bench,
    logLevel: "warning",
  });
  return { pandora: join(out, "index.js"), bench };
}

/** Starts the stack and both Workers; `close()` stops everything it started. */
export async function startMarketBench(): Promise<MarketBench> {
  const dir = mkdtempSync(join(tmpdir(), "pandora-bench-"));
  chmodSync(dir, 0o755);
  const storageDir = objectStorageDir("market");
  const secrets = devSecrets({});
  console.log("starting the local stack and building the Worker ...");
  const stack = await startStack({
    dataDir: join(dir, "stack"),
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: FREE_PORTS,
  });
  let mf: Miniflare | undefined;
  const close = async () => {
    await mf?.dispose();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(storageDir, { recursive: true, force: true });
  };
  try {
    const { info } = stack;
    await applyMigrations(info.databaseUrl, info.neonWsProxy);
    const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
    await seedDemoData(db, { adminEmail: "admin@bench.test", adminPassword: "bench password 1234" }).finally(
      () => pool.end(),
    );
    const scripts = build(dir);
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: 0,
        resourcePersistencePath: storageDir,
        workers: [
          {
            name: "bench",
            modules: [{ type: "ESModule", path: "bench.js", contents: readFileSync(scripts.bench, "utf8") }],
            compatibilityDate: "2026-10-01",
            durableObjects: {
              EMPTY: { className: "EmptyBroadcaster", useSQLite: true },
              ORDER_BOOK: { className: "OrderBook", scriptName: "pandora", useSQLite: true },
              STREAM_HUB: { className: "StreamHub", scriptName: "pandora", useSQLite: true },
            },
            serviceBindings: { PANDORA: "pandora" },
          },
          {
            name: "pandora",
            modules: [
              { type: "ESModule", path: "index.js", contents: readFileSync(scripts.pandora, "utf8") },
            ],
            compatibilityDate: "2026-10-01",
            durableObjects: {
              ORDER_BOOK: { className: "OrderBook", useSQLite: true },
              STREAM_HUB: { className: "StreamHub", useSQLite: true },
            },
            bindings: {
              ENVIRONMENT: "bench",
              LOG_LEVEL: "warn",
              // The workload is a few accounts placing as fast as the object takes them: a market
              // maker's limits, not the exchange's default (which would refuse most of it).
              ORDER_LIMIT_PER_10S: "1000000000",
              ORDER_LIMIT_PER_DAY: "1000000000",
              AUDIT_LOG_RETENTION_DAYS: "30",
              CORS_ORIGINS: "*",
              ...secrets,
              DATABASE_URL: info.databaseUrl,
              DATABASE_URL_DIRECT: info.directDatabaseUrl,
              NEON_WS_PROXY: info.neonWsProxy,
              NEON_FETCH_ENDPOINT: info.neonFetchEndpoint,
              UPSTASH_REDIS_REST_URL: info.redisRestUrl,
            },
          },
        ],
      }),
    );
    const base = (await mf.ready).toString().replace(/\/$/, "");
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const get = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    console.log(`Worker at ${base}: ${JSON.stringify(await get("/health"))}`);
    return { base, wsBase: base.replace(/^http/, "ws"), post, get, close };
  } catch (err) {
    await close();
    throw err;
  }
}

let seq = 1;

/**
 * N WebSocket clients, each timing every event it receives: `eventTime` reads the object's
 * clock from a frame (null for frames that are not the timed event).
 */
export class Clients {
  readonly sockets: WebSocket[] = [];
  received = 0;
  /** Latencies (ms) of the current event, one per client. */
  times: number[] = [];

  static async open(
    url: string,
    n: number,
    eventTime: (text: string) => number | null,
    subscribe?: unknown,
  ): Promise<Clients> {
    const c = new Clients();
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async () => {
          // One address per client, as real clients have: the Worker rate-limits upgrades per IP.
          const ip = `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq++ & 255}`;
          const ws = new WebSocket(url, { headers: { "cf-connecting-ip": ip } });
          await new Promise<void>((resolve, reject) => {
            ws.once("open", () => resolve());
            ws.once("error", reject);
          });
          if (subscribe) {
            ws.send(JSON.stringify(subscribe));
            // wait for the subscription reply before counting frames
            await new Promise<void>((resolve) =>
              ws.on("message", function first(data) {
                if (String(data).includes('"subscribed"')) {
                  ws.off("message", first);
                  resolve();
                }
              }),
            );
          }
          ws.on("message", (data) => {
            const now = performance.timeOrigin + performance.now();
            const at = eventTime(String(data));
            if (at !== null) {
              c.times.push(now - at);
              c.received++;
            }
          });
          c.sockets.push(ws);
        }),
      );
    }
    return c;
  }

  async event(trigger: () => Promise<unknown>): Promise<number[]> {
    this.received = 0;
    this.times = [];
    await trigger();
    const deadline = Date.now() + 10_000;
    while (this.received < this.sockets.length) {
      if (Date.now() > deadline) throw new Error(`only ${this.received}/${this.sockets.length} received`);
      await new Promise((r) => setImmediate(r));
    }
    return this.times;
  }

  close(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}
