// `npm run bench:market`: the market's Durable Object measured against the Worker itself
// (workerd through the Miniflare API: no `wrangler dev` proxy, no local request tracing).
//   1. Orders per second into one market through batched RPC with durable journaling.
//   2. Fan-out latency from order acceptance to receipt at 10, 100 and 1,000 WebSocket
//      subscribers, beside a bare broadcast from an empty Durable Object in the same run.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import WebSocket from "ws";
import { demoMarketRules } from "../../scripts/lib/demo-rules";
import { devSecrets } from "../../scripts/lib/dev-secrets";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { seedDemoData } from "../../scripts/lib/seed";
import { bundleWorker } from "../../scripts/lib/wrangler-dev";
import { startStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";

const SIZES = (process.env.BENCH_SIZES ?? "10,100,1000").split(",").map(Number);
const LOAD_ORDERS = Number(process.env.BENCH_ORDERS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const RUNS = 3;

const rules = (symbol: string) => demoMarketRules(symbol);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function percentile(sorted: Float64Array | number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function build(dir: string): { pandora: string; bench: string } {
  const out = join(dir, "pandora");
  bundleWorker(out);
  const bench = join(dir, "bench.js");
  buildSync({
    entryPoints: [fileURLToPath(new URL("./bench-worker.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "neutral",
    external: ["cloudflare:*"],
    outfile: bench,
    logLevel: "warning",
  });
  return { pandora: join(out, "index.js"), bench };
}

let seq = 1;

class Clients {
  readonly sockets: WebSocket[] = [];
  /** Latencies (ms) of the current event, one per client. */
  received = 0;
  times: number[] = [];

  static async open(url: string, n: number, subscribe?: unknown): Promise<Clients> {
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
            const text = String(data);
            if (text.includes('"type":"trade"')) {
              // `ts` is the object's clock when the request reached it (workerd's clock stands
              // still during a request): acceptance of the order, or the floor's broadcast call.
              c.times.push(now - (JSON.parse(text) as { ts: number }).ts);
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

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "pandora-bench-"));
  chmodSync(dir, 0o755);
  const secrets = devSecrets({});
  console.log("starting the local stack and building the Worker ...");
  const stack = await startStack({
    dataDir: join(dir, "stack"),
    token: secrets.UPSTASH_REDIS_REST_TOKEN,
    ports: FREE_PORTS,
  });
  let mf: Miniflare | undefined;
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
        durableObjectsPersist: join(dir, "do"),
        workers: [
          {
            name: "bench",
            modules: [{ type: "ESModule", path: "bench.js", contents: readFileSync(scripts.bench, "utf8") }],
            compatibilityDate: "2026-10-01",
            durableObjects: {
              EMPTY: { className: "EmptyBroadcaster", useSQLite: true },
              ORDER_BOOK: { className: "OrderBook", scriptName: "pandora", useSQLite: true },
            },
            serviceBindings: { PANDORA: "pandora" },
          },
          {
            name: "pandora",
            modules: [
              { type: "ESModule", path: "index.js", contents: readFileSync(scripts.pandora, "utf8") },
            ],
            compatibilityDate: "2026-10-01",
            durableObjects: { ORDER_BOOK: { className: "OrderBook", useSQLite: true } },
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
              NEON_WS_PROXY: info.neonWsProxy,
              UPSTASH_REDIS_REST_URL: info.redisRestUrl,
            },
          },
        ],
      }),
    );
    const base = (await mf.ready).toString().replace(/\/$/, "");
    const wsBase = base.replace(/^http/, "ws");
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
    const health = await get("/health");
    console.log(`Worker at ${base}: ${JSON.stringify(health)}`);
    // Other work on a shared VM shows in the tails: print the load beside the figures.
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(1))
        .join(" / ");
    console.log(`load average (1/5/15 min) at start: ${load()} on ${availableParallelism()} cores`);

    // ---- 1. fan-out -----------------------------------------------------------------------
    console.log("\n# Fan-out latency, order acceptance in the object to receipt at every client, ms");
    await post("/market/configure", rules("FAN-USDT"));
    const makers = Array.from({ length: 5_000 }, (_, i) => ({
      kind: "place",
      orderId: `mk${i}`,
      userId: "maker",
      side: "sell",
      type: "limit",
      price: "64000.00",
      quantity: "0.00100",
    }));
    await post("/market/place?symbol=FAN-USDT", makers);
    await get("/market/snapshot?symbol=FAN-USDT"); // the next one is due 30 s after the first event
    let taker = 0;
    const rows: string[] = [];
    for (const n of SIZES) {
      const events = n >= 1000 ? 60 : 300;
      const market = await Clients.open(`${wsBase}/api/v1/ws?market=FAN-USDT`, n, {
        op: "subscribe",
        id: 1,
        channels: ["trades:FAN-USDT"],
      });
      const floor = await Clients.open(`${wsBase}/floor/ws`, n);
      const lat = { market: [] as number[], floor: [] as number[], durable: [] as number[] };
      const placeTaker = () =>
        post("/market/place?symbol=FAN-USDT", {
          kind: "place",
          orderId: `tk${taker++}`,
          userId: "taker",
          side: "buy",
          type: "market",
          quantity: "0.00100",
        });
      for (let i = 0; i < events + 10; i++) {
        const f = await floor.event(() => get(`/floor/broadcast?id=${i}`));
        const d = await floor.event(() => get(`/floor/broadcast-durable?id=${i}`));
        const m = await market.event(placeTaker);
        if (i >= 10) {
          lat.floor.push(...f);
          lat.durable.push(...d);
          lat.market.push(...m);
        }
      }
      market.close();
      floor.close();
      const s = {
        market: lat.market.sort((a, b) => a - b),
        floor: lat.floor.sort((a, b) => a - b),
        durable: lat.durable.sort((a, b) => a - b),
      };
      const fmt = (x: number) => x.toFixed(1);
      const p99ratio = percentile(s.market, 99) / percentile(s.floor, 99);
      const row = `| ${n} | ${fmt(percentile(s.market, 50))} | ${fmt(percentile(s.market, 99))} | ${fmt(percentile(s.floor, 50))} | ${fmt(percentile(s.floor, 99))} | ${p99ratio.toFixed(2)}x | ${fmt(percentile(s.durable, 50))} | ${fmt(percentile(s.durable, 99))} |`;
      rows.push(row);
      console.log(`${n} subscribers x ${events} events: ${row}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(
      "\n| subscribers | market p50 | market p99 | floor p50 | floor p99 | p99 / floor | floor + 1 durable write p50 | p99 |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) console.log(r);
    console.log(`load average after the fan-out: ${load()}`);

    // ---- 2. throughput (after the fan-out, so its large book never runs beside it) --------------------------------------------------------------------
    console.log(`\n# Orders per second into one market (${LOAD_ORDERS} commands, RPC batches of ${BATCH})`);
    await post("/market/configure", rules("LOAD-USDT"));
    await get(`/market/load?symbol=LOAD-USDT&orders=5000&batch=${BATCH}&prefix=W&seed=99`); // warm-up
    const rates: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const started = performance.now();
      const r = (await get(
        `/market/load?symbol=LOAD-USDT&orders=${LOAD_ORDERS}&batch=${BATCH}&prefix=R${run}-&seed=${run}`,
      )) as { accepted: number; trades: number; orderCount: number; journalSeq: number };
      const seconds = (performance.now() - started) / 1000;
      rates.push(LOAD_ORDERS / seconds);
      console.log(
        `run ${run}: ${Math.round(LOAD_ORDERS / seconds)} commands/s (${r.accepted} ok, ${r.trades} fills, ${r.orderCount} resting, journal ${r.journalSeq})`,
      );
    }
    await post("/market/configure", rules("ONE-USDT"));
    const singles = 2_000;
    const t1 = performance.now();
    await get(`/market/load?symbol=ONE-USDT&orders=${singles}&batch=1&prefix=S&seed=5`);
    const singleRate = singles / ((performance.now() - t1) / 1000);
    console.log(
      `median: ${Math.round(median(rates))} commands/s batched; ${Math.round(singleRate)}/s one command per RPC`,
    );
  } finally {
    await mf?.dispose();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
