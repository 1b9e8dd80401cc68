import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { log } from "./log";
import { HOST, isPortFree } from "./ports";
import { startDaemon, type RunningDaemon } from "./daemon";
import { commandLine, isAlive, readPidFile, terminate, workingDir } from "./processes";
import { RedisConnection } from "./redis-client";
import { RespStatus } from "./resp";

export interface RedisOptions {
  /** The stack's data dir; pid and log files live in `<dataDir>/redis`. */
  dataDir: string;
  port: number;
}

export type RunningRedis = RunningDaemon;

const NOT_INSTALLED =
  "redis-server is not on PATH: install it: apt-get install -y redis-server (Debian/Ubuntu)";

function redisDir(dataDir: string): string {
  return path.join(dataDir, "redis");
}

/** A SIGKILLed supervisor leaves redis-server running: stop it by its pid file. */
export async function stopStaleRedis(dataDir: string): Promise<void> {
  const dir = redisDir(dataDir);
  const pidFile = path.join(dir, "redis.pid");
  const pid = await readPidFile(pidFile);
  if (pid === undefined) return;
  // Its working dir is ours (--dir): proof that a live pid is our leftover, not a reused pid.
  if (isAlive(pid) && (await commandLine(pid)).includes("redis-server") && (await workingDir(pid)) === dir) {
    log(`stopping leftover redis-server (pid ${pid}) of an earlier run`);
    await terminate(pid, "SIGTERM", 5000);
  }
  await rm(pidFile, { force: true });
}

async function ping(port: number): Promise<boolean> {
  const conn = new RedisConnection(HOST, port);
  try {
    const [reply] = await conn.send([["PING"]]);
    return reply instanceof RespStatus && reply.value === "PONG";
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

export async function startRedis(options: RedisOptions): Promise<RunningRedis> {
  const { port } = options;
  const dir = redisDir(options.dataDir);
  const logFile = path.join(dir, "redis.log");
  await mkdir(dir, { recursive: true });
  await stopStaleRedis(options.dataDir);
  if (!(await isPortFree(port))) {
    throw new Error(`Redis: port ${port} on ${HOST} is already in use`);
  }

  const args = [
    "--port", String(port),
    "--bind", HOST,
    "--protected-mode", "yes",
    "--save", "",
    "--appendonly", "no",
    "--dir", dir,
    "--pidfile", path.join(dir, "redis.pid"),
    "--logfile", logFile,
    "--daemonize", "no",
    // Keep argv as the process title so `pgrep -f <dataDir>` finds it.
    "--set-proc-title", "no",
  ]; // prettier-ignore
  return startDaemon({
    name: "redis-server",
    command: "redis-server",
    args,
    port,
    logFile,
    ready: () => ping(port),
    readyMeans: "answer PING",
    notInstalled: NOT_INSTALLED,
  });
}
