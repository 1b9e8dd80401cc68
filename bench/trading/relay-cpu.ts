// `node --import tsx bench/trading/relay-cpu.ts`: the event relay's machine CPU per event, by
// process, without the Worker around it. A private local stack; each pass writes BENCH_PAGES
// settled pages of ~BENCH_PAGE_EVENTS (300) events to event_pages (20 traders: the trading benchmark's order.batch
// load, ~3,000 events a pass as a 200 ms settler pass holds at 7,000 orders/s), then relays
// them as the market object's settler does (src/domain/events/event-outbox.ts `relayOutbox`,
// BENCH_LIMIT events a round, the user data stream's hook with nobody listening), from this
// process, through the Upstash REST shim and the Neon WebSocket proxy. CPU from /proc (ticks
// of 10 ms, whole passes): this process (the Worker's part; Node's fetch is costlier than
// workerd's), Postgres, PgBouncer, the stack's supervisor (shim and proxy) and Redis.
//   BENCH_BASELINE=<checkout>: also that checkout's `relayOutbox` (e.g. a worktree of main),
//     a pass of each in turn in the same run: compare by the ratio, which load leaves alone
//     better than figures of runs apart. BENCH_BASELINE_LIMIT: its events a round (default
//     BENCH_LIMIT).
//   BENCH_REPEAT: passes of each (default 10, after one of each to warm up).
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "@upstash/redis/cloudflare";
import { applyMigrations } from "../../scripts/lib/migrate";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { startStack } from "../../scripts/stack/start-stack";
import { FREE_PORTS } from "../../scripts/stack/stack-info";
import * as currentForward from "../../src/binance/user-data/forward";
import type { Database } from "../../src/db/client";
import { eventPages } from "../../src/db/schema";
import * as current from "../../src/domain/events/event-outbox";

const PAGES = Number(process.env.BENCH_PAGES ?? 10);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 10);
const LIMIT = Number(process.env.BENCH_LIMIT ?? 2_000);
const BASELINE = process.env.BENCH_BASELINE;
const BASELINE_LIMIT = Number(process.env.BENCH_BASELINE_LIMIT ?? LIMIT);
const PAGE_EVENTS = Number(process.env.BENCH_PAGE_EVENTS ?? 300);

// Each checkout's relay with its own hook (the hook's contract may differ between them).
type Relay = (db: Database, redis: Redis, limit: number, env: Env) => Promise<{ published: number }>;
const relayOf =
  (outbox: typeof current, forward: typeof currentForward): Relay =>
  (db, redis, limit, env) =>
    outbox.relayOutbox(db, redis, limit, {
      waitForLock: false,
      onPublished: forward.forwardToAccountStreams(env),
    });
const variants: { name: string; relay: Relay; limit: number }[] = [
  { name: "current", relay: relayOf(current, currentForward), limit: LIMIT },
];
if (BASELINE) {
  const at = (path: string) => import(resolve(BASELINE, path));
  const relay = relayOf(
    (await at("src/domain/events/event-outbox.ts")) as typeof current,
    (await at("src/binance/user-data/forward.ts")) as typeof currentForward,
  );
  variants.unshift({ name: `baseline (${BASELINE})`, relay, limit: BASELINE_LIMIT });
}

/** utime + stime of a process, µs (0 once it is gone). */
function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]) === parent;
      } catch {
        return false;
      }
    });
}

const uuid = () => crypto.randomUUID();
const traders = Array.from({ length: 20 }, uuid);
const trader = () => traders[Math.floor(Math.random() * traders.length)]!;

/** A settled page as settle_page writes it: acceptances, some trades (two events) and closes. */
function page() {
  const events: unknown[][] = [];
  let count = 0;
  while (count < PAGE_EVENTS) {
    events.push(["order.accepted", trader(), uuid()]);
    count++;
    if (Math.random() < 0.26) {
      events.push([
        "trade.executed",
        uuid(),
        "64000.00",
        "0.00100000",
        "buy",
        uuid(),
        trader(),
        uuid(),
        trader(),
      ]);
      count += 2;
    }
    if (Math.random() < 0.66) {
      events.push([
        Math.random() < 0.8 ? "order.filled" : "order.cancelled",
        trader(),
        uuid(),
        "filled",
        null,
      ]);
      count++;
    }
  }
  const envelope = { id: uuid(), timestamp: new Date().toISOString(), market: "BTC-USDT", events };
  return { stream: "trading:events", envelope, pageEvents: count };
}

const dataDir = mkdtempSync(join(tmpdir(), "pandora-bench-relay-"));
const stack = await startStack({ dataDir, ports: FREE_PORTS });
try {
  const { info } = stack;
  await applyMigrations(info.databaseUrl, info.neonWsProxy);
  const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
  const env = { UPSTASH_REDIS_REST_URL: info.redisRestUrl, UPSTASH_REDIS_REST_TOKEN: info.redisRestToken };
  // The settler's client (src/http/resources.ts createRedis with hotPath).
  const redis = new Redis({
    url: info.redisRestUrl,
    token: info.redisRestToken,
    retry: false,
    enableTelemetry: false,
    enableAutoPipelining: false,
    responseEncoding: false,
    automaticDeserialization: false,
    readYourWrites: false,
  });
  const groups = {
    postgres: () => [info.pids.postgres, ...childrenOf(info.pids.postgres)],
    pgbouncer: () => (info.pids.pooler ? [info.pids.pooler] : []),
    stack: () => [info.pids.supervisor],
    redis: () => [info.pids.redis],
  };
  const sample = () => {
    const own = process.cpuUsage();
    const out: Record<string, number> = { node: own.user + own.system };
    for (const [name, pids] of Object.entries(groups))
      out[name] = pids().reduce((s, pid) => s + cpuMicros(pid), 0);
    return out;
  };
  const totals = variants.map(() => ({ events: 0, cpu: {} as Record<string, number> }));
  for (let pass = 0; pass <= REPEAT; pass++) {
    for (const [i, v] of variants.entries()) {
      await db.insert(eventPages).values(Array.from({ length: PAGES }, page));
      const before = sample();
      let published = 0;
      for (;;) {
        const result = await v.relay(db, redis, v.limit, env as unknown as Env);
        published += result.published;
        if (result.published === 0) break;
      }
      const after = sample();
      if (pass === 0) continue;
      totals[i]!.events += published;
      for (const name of Object.keys(after)) {
        totals[i]!.cpu[name] = (totals[i]!.cpu[name] ?? 0) + after[name]! - before[name]!;
      }
    }
  }
  console.log(
    "| relay | events | all µs/event | node (Worker's part) | postgres | pgbouncer | stack | redis |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [i, v] of variants.entries()) {
    const { events, cpu } = totals[i]!;
    const per = (us: number) => (us / events).toFixed(1);
    const all = Object.values(cpu).reduce((a, b) => a + b, 0);
    const cells = ["node", "postgres", "pgbouncer", "stack", "redis"].map((name) => per(cpu[name]!));
    console.log(`| ${v.name}, ${v.limit} a round | ${events} | ${per(all)} | ${cells.join(" | ")} |`);
  }
  await pool.end();
} finally {
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
