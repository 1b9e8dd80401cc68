import { chown, mkdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { findExecutable } from "../lib/system-packages";
import { log } from "./log";
import { postgresUserIds } from "./permissions";
import { HOST, isPortFree } from "./ports";
import { startDaemon, type RunningDaemon } from "./daemon";
import { commandLine, isAlive, readPidFile, terminate } from "./processes";

export interface PgBouncerOptions {
  /** The stack's data dir; config, pid and log files live in `<dataDir>/pgbouncer`. */
  dataDir: string;
  port: number;
  postgres: { port: number; user: string; password: string; database: string };
}

export type RunningPgBouncer = RunningDaemon;

export const PGBOUNCER_NOT_INSTALLED =
  "pgbouncer is not on PATH: install it: apt-get install -y pgbouncer (Debian/Ubuntu)";

function binary(): string {
  const file = findExecutable("pgbouncer");
  if (!file) throw new Error(PGBOUNCER_NOT_INSTALLED);
  return file;
}

function bouncerDir(dataDir: string): string {
  return path.join(dataDir, "pgbouncer");
}

/** A SIGKILLed supervisor leaves pgbouncer running: stop it by its pid file. */
export async function stopStalePgBouncer(dataDir: string): Promise<void> {
  const dir = bouncerDir(dataDir);
  const pidFile = path.join(dir, "pgbouncer.pid");
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return;
  if (isAlive(pid) && (await commandLine(pid)).includes(path.join(dir, "pgbouncer.ini"))) {
    log(`stopping leftover pgbouncer (pid ${pid}) of an earlier run`);
    await terminate(pid, "SIGTERM", 5000);
  }
  await rm(pidFile, { force: true });
}

/**
 * Transaction pooling, as Neon's pooled endpoint does in production (PgBouncer in transaction
 * mode): every Worker request opens a connection, and without a pooler each one forks and warms
 * a new Postgres backend. Plain password auth matches the Postgres side (see postgres.ts).
 */
function config(dir: string, options: PgBouncerOptions): string {
  const { postgres } = options;
  return [
    "[databases]",
    `${postgres.database} = host=${HOST} port=${postgres.port} dbname=${postgres.database}`,
    "[pgbouncer]",
    `listen_addr = ${HOST}`,
    `listen_port = ${options.port}`,
    "unix_socket_dir =",
    "auth_type = plain",
    `auth_file = ${path.join(dir, "users.txt")}`,
    "pool_mode = transaction",
    "max_client_conn = 2000",
    "default_pool_size = 20",
    "reserve_pool_size = 5",
    "server_reset_query =",
    // The Neon driver (node-postgres) sends these at startup; PgBouncer tracks only a few itself.
    "ignore_startup_parameters = extra_float_digits,options,statement_timeout",
    `pidfile = ${path.join(dir, "pgbouncer.pid")}`,
    `logfile = ${path.join(dir, "pgbouncer.log")}`,
    "log_connections = 0",
    "log_disconnections = 0",
    "",
  ].join("\n");
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  const { port, postgres } = options;
  const executable = binary();
  const dir = bouncerDir(options.dataDir);
  const ini = path.join(dir, "pgbouncer.ini");
  const logFile = path.join(dir, "pgbouncer.log");
  await mkdir(dir, { recursive: true });
  await stopStalePgBouncer(options.dataDir);
  if (!(await isPortFree(port))) throw new Error(`pgbouncer: port ${port} on ${HOST} is already in use`);
  await writeFile(path.join(dir, "users.txt"), `"${postgres.user}" "${postgres.password}"\n`, {
    mode: 0o600,
  });
  await writeFile(ini, config(dir, options), { mode: 0o600 });
  // PgBouncer refuses to run as root: as root it runs as the postgres user, like Postgres.
  const ids = await postgresUserIds();
  if (ids) {
    await chown(dir, ids.uid, ids.gid);
    for (const f of ["users.txt", "pgbouncer.ini"]) await chown(path.join(dir, f), ids.uid, ids.gid);
  }

  // SIGTERM closes at once (SIGINT would be a "safe shutdown" that waits for clients).
  return startDaemon({
    name: "pgbouncer",
    command: executable,
    args: [ini],
    spawnOptions: ids ?? {},
    port,
    logFile,
    ready: () => accepts(port),
    readyMeans: "listen",
  });
}
