import { createExecutionContext, SELF, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { READY_PER_MINUTE } from "../../src/routes/health";
import { randomIp } from "./auth/helpers";

describe("GET /ready", () => {
  it("names the dependency that failed and nothing more (no driver error, host or port)", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://x/ready"),
      { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      error: {
        code: "SERVICE_UNAVAILABLE",
        message: "Not ready: redis unreachable",
        details: { failing: ["redis"] },
      },
    });
    expect(text).not.toMatch(/127\.0\.0\.1|:9\b|refused|fetch|error:/i);
  });

  it(`is rate-limited per client IP (${READY_PER_MINUTE} a minute)`, async () => {
    const ip = randomIp();
    const statuses: number[] = [];
    for (let i = 0; i <= READY_PER_MINUTE; i++) {
      statuses.push((await SELF.fetch("http://x/ready", { headers: { "cf-connecting-ip": ip } })).status);
    }
    expect(statuses.slice(0, READY_PER_MINUTE).every((s) => s === 200)).toBe(true);
    const refused = await SELF.fetch("http://x/ready", { headers: { "cf-connecting-ip": ip } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
  });
});
