import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { waitForStatus } from "../../scripts/lib/wrangler-dev";

/** Processes whose command line mentions `needle` (the run's private data dir or port). */
function processesMatching(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(needle)) found.push(`${pid} ${cmd.trim()}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

// The two commands of the README, for real: `npm run dev` boots the stack and `wrangler dev`,
// answers /ready, reports a dead Redis, and leaves nothing running after Ctrl-C.
describe("npm run dev", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "pandora-dev-e2e-"));
  chmodSync(dataDir, 0o755);
  let dev: ChildProcess | undefined;
  let output = "";

  afterAll(async () => {
    // After a failure: Ctrl-C first (the dev script stops what it started), then force.
    const running = () => dev?.pid !== undefined && dev.exitCode === null && dev.signalCode === null;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-dev!.pid!, sig);
      } catch {
        // already gone
      }
    };
    if (running()) {
      signal("SIGINT");
      for (let i = 0; i < 80 && running(); i++) await new Promise((ok) => setTimeout(ok, 100));
      if (running()) signal("SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers /ready within 60 s, names redis when it is down, and stops cleanly on Ctrl-C", async () => {
    const port = await freePort();
    const ports = {
      PANDORA_PG_PORT: 0,
      PANDORA_PG_POOLER_PORT: 0,
      PANDORA_PG_PROXY_PORT: 0,
      PANDORA_REDIS_PORT: 0,
      PANDORA_REDIS_REST_PORT: 0,
    };
    const started = Date.now();
    dev = spawn("npm", ["run", "dev"], {
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        PORT: String(port),
        PANDORA_STACK_DATA_DIR: join(dataDir, "stack"),
        PANDORA_DEV_VARS: join(dataDir, "dev.vars"),
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stdout!.on("data", (d) => (output += d));
    dev.stderr!.on("data", (d) => (output += d));
    const base = `http://127.0.0.1:${port}`;

    await waitForStatus(`${base}/ready`, 200, 60_000).catch((err) => {
      throw new Error(`${err.message}\n--- dev output ---\n${output.slice(-4000)}`);
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    for (let i = 0; i < 50 && !output.includes("Press Ctrl-C"); i++)
      await new Promise((ok) => setTimeout(ok, 100));
    expect(output).toContain(`${base}/docs`);
    expect(output).toContain(`ws://127.0.0.1:${port}/api/v1/ws`);

    // Stop the local Redis behind the running exchange: /ready must name it.
    const redisPidFile = join(dataDir, "stack", "redis", "redis.pid");
    expect(existsSync(redisPidFile)).toBe(true);
    process.kill(Number(readFileSync(redisPidFile, "utf8").trim()), "SIGTERM");
    const res = await (async () => {
      for (let i = 0; i < 40; i++) {
        const r = await fetch(`${base}/ready`);
        if (r.status === 503) return r;
        await new Promise((ok) => setTimeout(ok, 250));
      }
      throw new Error("/ready never answered 503 after Redis stopped");
    })();
    const body = (await res.json()) as {
      error: { code: string; message: string; details: { failing: string[] } };
    };
    expect(body.error.code).toBe("SERVICE_UNAVAILABLE");
    expect(body.error.details.failing).toEqual(["redis"]);

    // Ctrl-C: the whole tree goes away.
    const exited = new Promise<number | null>((resolve) => dev!.once("exit", (code) => resolve(code)));
    process.kill(-dev.pid!, "SIGINT");
    await exited;
    await new Promise((ok) => setTimeout(ok, 1_000));
    expect(processesMatching(dataDir)).toEqual([]);
    expect(processesMatching(`127.0.0.1:${port}`)).toEqual([]);
  });
});
