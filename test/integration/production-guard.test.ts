import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";

/** The Worker itself, with this run's bindings changed as a production deploy would have them. */
async function call(path: string, overrides: Partial<Env>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://x${path}`), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("production refuses weak secrets", () => {
  it("answers 503 with the JSON error shape on every route while a secret is a placeholder", async () => {
    const weak = { ENVIRONMENT: "production", DEPOSIT_WEBHOOK_SECRET: "change-me" };
    for (const path of ["/health", "/api/v1/markets", "/api/v1/auth/login"]) {
      const res = await call(path, weak);
      expect(res.status, path).toBe(503);
      expect(await res.json()).toMatchObject({
        error: { code: "SERVICE_UNAVAILABLE", request_id: expect.any(String) },
      });
    }
    // The same secrets outside production: served (development and tests use local values).
    expect((await call("/health", { DEPOSIT_WEBHOOK_SECRET: "change-me" })).status).toBe(200);
  });
});
