import { spawn } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { log } from "./log";
import { HOST, isPortFree } from "./ports";
import { commandLine, isAlive, readPidFile, sleep, terminate, workingDir } from "./processes";
import { RedisConnection } from "./redis-client";
import { RespStatus } from "./resp";

export interface RedisOptions {
  /** The stack's data dir; pid and log files live in `<dataDir>/redis`. */
  dataDir: string;
  port: number;
}

export interface RunningRedis {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

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

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-10).join("\n");
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
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once("spawn", () => resolve(undefined));
    child.once("error", (err) => resolve(err));
  });
  if (spawned) {
    const code = (spawned as NodeJS.ErrnoException).code;
    throw new Error(code === "ENOENT" ? NOT_INSTALLED : `redis-server: ${spawned.message}`);
  }
  const pid = child.pid ?? 0;
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
  });

  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (exited) {
      throw new Error(`redis-server exited during startup:\n${await logTail(logFile)}`);
    }
    if (Date.now() > deadline) {
      await terminate(pid, "SIGKILL", 1000);
      throw new Error(`redis-server did not answer PING within 10 s:\n${await logTail(logFile)}`);
    }
    await sleep(20);
  }

  let stopped = false;
  return {
    pid,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        await terminate(pid, "SIGTERM", 5000);
        await exit;
      }
      log("redis stopped");
    },
  };
}
