// The one process that owns the local stack: Postgres + its Neon WebSocket proxy and Neon HTTP
// endpoint, Redis + its Upstash REST shim. Run: `node --import tsx scripts/stack/supervisor.ts
// [flags]` (see README).
// It prints `PANDORA_STACK_READY {json}` on stdout when everything answers, and stops it all when
// stdin closes (the lifeline to its parent), on SIGINT/SIGTERM/SIGHUP, or on an uncaught error.
import { mkdir } from "node:fs/promises";
import readline from "node:readline";
import { errorMessage, log } from "./log";
import { startNeonHttpEndpoint, type RunningNeonHttpEndpoint } from "./neon-http-endpoint";
import type { RunningNeonWsProxy } from "./neon-ws-proxy";
import { startNeonWsProxyThread } from "./neon-ws-proxy-thread";
import { PGBOUNCER_NOT_INSTALLED, startPgBouncer, type RunningPgBouncer } from "./pgbouncer";
import { PG_DATABASE, PG_PASSWORD, PG_USER, startPostgres, type RunningPostgres } from "./postgres";
import { HOST, resolvePorts } from "./ports";
import { signal, sleep } from "./processes";
import { startRedis, type RunningRedis } from "./redis";
import { ERR_PREFIX, OK_PREFIX, READY_PREFIX, type StackInfo } from "./stack-info";
import { claimDataDir, releaseDataDir } from "./stale-run";
import { readSupervisorOptions } from "./supervisor-options";
import { startUpstashShim, type RunningUpstashShim } from "./upstash-shim";

const options = readSupervisorOptions();
const { dataDir } = options;

// A vanished parent must not turn log writes into crashes mid-shutdown.
process.stdout.on("error", () => undefined);
process.stderr.on("error", () => undefined);

const services: {
  postgres?: RunningPostgres;
  pooler?: RunningPgBouncer;
  redis?: RunningRedis;
  proxy?: RunningNeonWsProxy;
  http?: RunningNeonHttpEndpoint;
  shim?: RunningUpstashShim;
} = {};
let redisPort = 0;
let startup: Promise<void> = Promise.resolve();
let stopping: Promise<void> | undefined;
let stoppedCleanly = false;

function reply(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Last resort when the process exits without a clean stop: signal the servers directly. */
function killServices(sig: NodeJS.Signals): void {
  if (services.postgres) signal(services.postgres.pid, sig === "SIGKILL" ? "SIGKILL" : "SIGINT");
  if (services.redis) signal(services.redis.pid, sig);
  if (services.pooler) signal(services.pooler.pid, sig);
}

async function stopServices(): Promise<void> {
  // Let a startup in flight settle, so nothing it launches escapes the stop.
  await Promise.race([startup.catch(() => undefined), sleep(15_000)]);
  await Promise.allSettled([services.shim?.close(), services.proxy?.close(), services.http?.close()]);
  await services.pooler?.stop().catch(() => undefined);
  await Promise.allSettled([services.redis?.stop(), services.postgres?.stop()]);
  await releaseDataDir(dataDir).catch(() => undefined);
}

let exitCode = 0;

/** Stops once; `force` (a repeated signal) during a stop kills everything at once. */
function shutdown(reason: string, code: number, force = false): void {
  exitCode ||= code;
  if (stopping) {
    if (!force) return;
    log(`${reason} while stopping: killing everything now`);
    killServices("SIGKILL");
    process.exit(exitCode || 1);
  }
  log(`stopping (${reason})`);
  const deadline = setTimeout(() => {
    log("stop took over 30 s: killing everything");
    killServices("SIGKILL");
    process.exit(1);
  }, 30_000);
  deadline.unref();
  stopping = stopServices().then(
    () => {
      stoppedCleanly = true;
      log("stopped");
      process.exit(exitCode);
    },
    (err: unknown) => {
      log(`stop failed: ${errorMessage(err)}`);
      killServices("SIGKILL");
      process.exit(1);
    },
  );
}

/**
 * PgBouncer if installed (production goes through Neon's pooler too); without it the proxy
 * talks to Postgres directly: everything works, each connection just costs a backend fork.
 */
async function startPooler(port: number, pgPort: number): Promise<RunningPgBouncer | undefined> {
  try {
    return await startPgBouncer({
      dataDir,
      port,
      postgres: { port: pgPort, user: PG_USER, password: PG_PASSWORD, database: PG_DATABASE },
    });
  } catch (err) {
    if (errorMessage(err) !== PGBOUNCER_NOT_INSTALLED) throw err;
    log(`${PGBOUNCER_NOT_INSTALLED}; connecting straight to Postgres (slower under load)`);
    return undefined;
  }
}

async function start(): Promise<void> {
  const began = performance.now();
  await mkdir(dataDir, { recursive: true });
  await claimDataDir(dataDir);
  const ports = await resolvePorts(options.ports, {
    pg: "Postgres (PANDORA_PG_PORT)",
    pgPooler: "PgBouncer (PANDORA_PG_POOLER_PORT)",
    pgProxy: "Neon WebSocket proxy (PANDORA_PG_PROXY_PORT)",
    pgHttp: "Neon HTTP endpoint (PANDORA_PG_HTTP_PORT)",
    redis: "Redis (PANDORA_REDIS_PORT)",
    redisRest: "Upstash REST shim (PANDORA_REDIS_REST_PORT)",
  });
  redisPort = ports.redis;
  log(`data dir ${dataDir}`);

  // Start both servers; keep whichever came up even if the other failed, so stop() covers it.
  const results = await Promise.allSettled([
    startPostgres({ dataDir, port: ports.pg }).then((pg) => (services.postgres = pg)),
    startRedis({ dataDir, port: ports.redis }).then((redis) => (services.redis = redis)),
  ]);
  for (const result of results) if (result.status === "rejected") throw result.reason;

  services.pooler = await startPooler(ports.pgPooler, ports.pg);
  services.proxy = await startNeonWsProxyThread({
    port: ports.pgProxy,
    target: { host: HOST, port: services.pooler?.port ?? ports.pg },
    direct: { host: HOST, port: ports.pg },
  });
  // Straight to Postgres: the endpoint keeps its own pool of connections, and each request is one
  // statement or one BEGIN…COMMIT batch, as PgBouncer's transaction mode would hand them out.
  services.http = await startNeonHttpEndpoint({ port: ports.pgHttp, target: { host: HOST, port: ports.pg } });
  services.shim = await startUpstashShim({
    port: ports.redisRest,
    token: options.token,
    redis: { host: HOST, port: ports.redis },
  });
  if (stopping) return;

  const info: StackInfo = {
    databaseUrl: `postgres://${PG_USER}:${PG_PASSWORD}@${HOST}:${services.pooler?.port ?? ports.pg}/${PG_DATABASE}`,
    directDatabaseUrl: `postgres://${PG_USER}:${PG_PASSWORD}@${HOST}:${ports.pg}/${PG_DATABASE}`,
    neonWsProxy: `${HOST}:${services.proxy.port}/v2`,
    neonFetchEndpoint: services.http.url,
    redisRestUrl: services.shim.url,
    redisRestToken: options.token,
    redisPort: ports.redis,
    pgPort: ports.pg,
    pgProxyPort: services.proxy.port,
    pgHttpPort: services.http.port,
    pgPoolerPort: services.pooler?.port ?? 0,
    redisRestPort: services.shim.port,
    dataDir,
    pids: {
      supervisor: process.pid,
      postgres: services.postgres?.pid ?? 0,
      redis: services.redis?.pid ?? 0,
      pooler: services.pooler?.pid ?? 0,
    },
  };
  log(
    `ready in ${Math.round(performance.now() - began)} ms: postgres ${HOST}:${ports.pg}, ` +
      `${services.pooler ? `pgbouncer ${HOST}:${services.pooler.port}, ` : ""}neon ws proxy ${info.neonWsProxy}, ` +
      `neon http ${info.neonFetchEndpoint}, redis ${HOST}:${ports.redis}, upstash rest ${info.redisRestUrl}`,
  );
  reply(`${READY_PREFIX}${JSON.stringify(info)}`);
}

/** Stdin commands from the parent; a test stops Redis to see the app degrade. */
async function command(line: string): Promise<void> {
  const text = line.trim();
  if (!text) return;
  try {
    await startup;
    if (text === "stop redis") {
      await services.redis?.stop();
      services.redis = undefined;
      reply(`${OK_PREFIX}redis stopped`);
    } else if (text === "start redis") {
      services.redis ??= await startRedis({ dataDir, port: redisPort });
      reply(`${OK_PREFIX}redis started`);
    } else {
      reply(`${ERR_PREFIX}unknown command: ${text}`);
    }
  } catch (err) {
    reply(`${ERR_PREFIX}${text}: ${errorMessage(err).split("\n")[0]}`);
  }
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => shutdown(sig, 0, true));
}
process.on("uncaughtException", (err) => {
  log(`uncaught error: ${err.stack ?? err.message}`);
  shutdown("uncaught error", 1);
});
process.on("unhandledRejection", (err) => {
  log(`unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  shutdown("unhandled rejection", 1);
});
process.on("exit", () => {
  if (!stoppedCleanly) killServices("SIGTERM");
});

// The lifeline: the parent holds our stdin; EOF means it is gone (even if it was SIGKILLed).
let queue = Promise.resolve();
const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on("line", (line) => {
  queue = queue.then(() => command(line));
});
input.on("close", () => {
  if (options.lifeline) shutdown("stdin closed: parent is gone", 0);
});

startup = start();
startup.catch((err: unknown) => {
  log(`failed to start: ${errorMessage(err)}`);
  shutdown("startup failed", 1);
});
