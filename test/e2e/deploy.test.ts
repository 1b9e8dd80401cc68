import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "pandora-deploy-"));

/**
 * A deploy rehearsal, offline: wrangler bundles, prints the bindings and, through
 * WRANGLER_OUTPUT_FILE_PATH, records which Worker and environment it would deploy to.
 */
async function dryRun(
  command: string[],
  tag: string,
): Promise<{ worker: string; environment: string | null; vars: string }> {
  const output = join(dir, `${tag}.ndjson`);
  const { stdout } = await run("npm", [...command, "--dry-run", "--outdir", join(dir, tag)], {
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      XDG_CONFIG_HOME: dir,
      WRANGLER_OUTPUT_FILE_PATH: output,
      NO_COLOR: "1",
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  const deploy = readFileSync(output, "utf8")
    .split("\n")
    .filter(Boolean)
    .map(
      (line) =>
        JSON.parse(line) as { type: string; worker_name?: string; wrangler_environment?: string | null },
    )
    .find((entry) => entry.type === "deploy");
  expect(deploy, stdout).toBeDefined();
  return { worker: deploy!.worker_name!, environment: deploy!.wrangler_environment ?? null, vars: stdout };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("deploys", () => {
  it("`npm run deploy` targets the production Worker with production variables", async () => {
    const { worker, environment, vars } = await dryRun(["run", "deploy", "--"], "production");
    expect(worker).toBe("pandora-exchange");
    expect(environment).toBe("production");
    expect(vars).toContain('env.ENVIRONMENT ("production")');
    expect(vars).toContain('env.AUDIT_LOG_RETENTION_DAYS ("2555")');
    expect(vars).toContain('env.CORS_ORIGINS ("https://pandora.exchange")');
    expect(vars).not.toContain('("development")');
  });

  it("a bare `wrangler deploy` targets the development Worker under its own name, never production", async () => {
    const { worker, environment, vars } = await dryRun(["exec", "--", "wrangler", "deploy"], "bare");
    expect(worker).toBe("pandora-exchange-dev");
    expect(environment).toBeNull();
    expect(vars).toContain('env.ENVIRONMENT ("development")');
    expect(vars).toContain('env.AUDIT_LOG_RETENTION_DAYS ("30")');
  });
});
