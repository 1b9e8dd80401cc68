import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port";
import { tieGroupToThisProcess } from "./lifeline";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Environment that keeps wrangler fully offline and its config inside the project. */
export function offlineWranglerEnv(): NodeJS.ProcessEnv {
  const xdg = `${ROOT}.xdg`;
  mkdirSync(xdg, { recursive: true });
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    XDG_CONFIG_HOME: xdg,
    // Local request tracing fsyncs every request into .wrangler (about 6x slower, see DESIGN.md).
    X_LOCAL_OBSERVABILITY: process.env.X_LOCAL_OBSERVABILITY ?? "false",
  };
}

export interface WranglerDev {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface WranglerDevOptions {
  port: number;
  envFile: string;
  /** Where local Durable Object storage lives (default .wrangler/state). */
  persistTo?: string;
  inheritLogs?: boolean;
}

/**
 * Runs `wrangler dev` on 127.0.0.1 in its own process group: stopping only the npm/node pid
 * would leave workerd running, so `stop()` signals the whole group.
 */
export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--inspector-port",
    String(await freePort()),
    "--env-file",
    options.envFile,
    "--show-interactive-dev-session=false",
    ...(options.persistTo ? ["--persist-to", options.persistTo] : []),
  ];
  const child = spawn(`${ROOT}node_modules/.bin/wrangler`, args, {
    cwd: ROOT,
    env: offlineWranglerEnv(),
    detached: true,
    stdio: ["ignore", options.inheritLogs ? "inherit" : "ignore", options.inheritLogs ? "inherit" : "ignore"],
  });
  tieGroupToThisProcess(child.pid!);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is already gone
      }
    };
    signalGroup("SIGTERM");
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000));
    if ((await Promise.race([exited, timeout])) === "timeout") signalGroup("SIGKILL");
  };
  return { url: `http://127.0.0.1:${options.port}`, process: child, stop };
}

/** Polls `url` until it answers `expectStatus`, or throws after `timeoutMs`. */
export async function waitForStatus(url: string, expectStatus: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
      if (res.status === expectStatus) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer ${expectStatus} within ${timeoutMs} ms (last: ${last})`);
}

/** The Worker exactly as `wrangler deploy` would ship it, bundled into `outdir`; returns the entry file. */
export function bundleWorker(outdir: string): string {
  // wrangler refuses a missing [assets] directory; a bundle of the Worker's code does not need the web build.
  mkdirSync(join(ROOT, "web/dist"), { recursive: true });
  const result = spawnSync(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir],
    {
      cwd: ROOT,
      env: offlineWranglerEnv(),
      encoding: "utf8",
    },
  );
  if (result.status !== 0) throw new Error(`wrangler bundle failed:\n${result.stdout}\n${result.stderr}`);
  return join(outdir, "index.js");
}
