import { spawn, type SpawnOptions } from "node:child_process";
import { readFile } from "node:fs/promises";
import { log } from "./log";
import { sleep, terminate } from "./processes";

export interface RunningDaemon {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** As it appears in messages, e.g. `redis-server`. */
  name: string;
  command: string;
  args: string[];
  spawnOptions?: SpawnOptions;
  port: number;
  /** Its log file: the tail is quoted when it fails to start. */
  logFile: string;
  /** Answers true once the server serves (polled every 20 ms, for up to 10 s). */
  ready: () => Promise<boolean>;
  /** What `ready` checks, for the timeout message, e.g. "answer PING". */
  readyMeans: string;
  /** The message when the command is not installed (ENOENT). */
  notInstalled?: string;
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-10).join("\n");
}

/**
 * Runs one of the stack's servers in the foreground of a child process: waits until it is
 * ready (its log tail when it dies first; killed after 10 s) and returns how to stop it (SIGTERM,
 * then SIGKILL after 5 s).
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { name, port } = options;
  const child = spawn(options.command, options.args, { stdio: "ignore", ...options.spawnOptions });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once("spawn", () => resolve(undefined));
    child.once("error", (err) => resolve(err));
  });
  if (spawned) {
    const code = (spawned as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT" && options.notInstalled ? options.notInstalled : `${name}: ${spawned.message}`,
    );
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
  while (!(await options.ready())) {
    if (exited) throw new Error(`${name} exited during startup:\n${await logTail(options.logFile)}`);
    if (Date.now() > deadline) {
      await terminate(pid, "SIGKILL", 1000);
      throw new Error(
        `${name} did not ${options.readyMeans} within 10 s:\n${await logTail(options.logFile)}`,
      );
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
      log(`${name} stopped`);
    },
  };
}
