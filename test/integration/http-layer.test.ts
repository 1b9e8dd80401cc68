import { createRoute, z } from "@hono/zod-openapi";
import { SELF, createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES, createApp } from "../../src/app";
import { AppError } from "../../src/lib/errors";

interface ErrorBody {
  error: { code: string; message: string; details?: unknown; request_id: string };
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as ErrorBody;
  expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  return body;
}

describe("operations endpoints", () => {
  it("GET /health answers without I/O", async () => {
    const res = await SELF.fetch("http://x/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /ready checks Postgres and Redis", async () => {
    const res = await SELF.fetch("http://x/ready");
    expect(await res.json()).toEqual({ status: "ready", checks: { postgres: "ok", redis: "ok" } });
    expect(res.status).toBe(200);
  });

  it("GET /docs serves the interactive documentation from this Worker's assets, under a CSP with a fresh nonce", async () => {
    const [res, again] = await Promise.all([SELF.fetch("http://x/docs"), SELF.fetch("http://x/docs")]);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("/openapi.json");
    expect(page).toContain('src="/docs/assets/swagger-ui-bundle.js"');
    expect(page).not.toMatch(/https?:\/\//); // no third-party script or stylesheet
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(csp).toContain("default-src 'none'");
    expect(page).toContain(`<script nonce="${nonce}">`);
    expect(again.headers.get("content-security-policy")).not.toContain(nonce);
  });
});

describe("one JSON error shape", () => {
  it("unknown route → 404", async () => {
    await expectError(await SELF.fetch("http://x/nope"), 404, "NOT_FOUND");
  });

  it("wrong method → 405 with Allow", async () => {
    const res = await SELF.fetch("http://x/health", { method: "DELETE" });
    await expectError(res, 405, "METHOD_NOT_ALLOWED");
    expect(res.headers.get("allow")).toContain("GET");
  });

  it("oversized body → 413", async () => {
    const res = await SELF.fetch("http://x/api/v1/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(MAX_BODY_BYTES) }),
    });
    await expectError(res, 413, "PAYLOAD_TOO_LARGE");
  });

  it("malformed JSON on a real route → 400", async () => {
    const res = await SELF.fetch("http://x/api/v1/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"email": "a@b.c", ',
    });
    await expectError(res, 400, "MALFORMED_JSON");
  });

  it("wrong content type → 415", async () => {
    const res = await SELF.fetch("http://x/api/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    await expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("request correlation and headers", () => {
  it("echoes a well-formed X-Request-Id and generates one otherwise", async () => {
    const mine = await SELF.fetch("http://x/health", { headers: { "x-request-id": "abc-123" } });
    expect(mine.headers.get("x-request-id")).toBe("abc-123");
    const bad = await SELF.fetch("http://x/health", { headers: { "x-request-id": "<script>" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("sets security headers and CORS", async () => {
    const res = await SELF.fetch("http://x/health", { headers: { origin: "https://app.example" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    expect(res.headers.get("strict-transport-security")).toBeTruthy();
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
  });
});

describe("errors raised inside routes", () => {
  // A throwaway router mounted on the real application stack: the same middleware and
  // handlers the Worker uses, plus routes that fail in the ways real ones can.
  const app = createApp();
  const Body = z.object({ name: z.string().min(1) });
  app.openapi(
    createRoute({
      method: "post",
      path: "/__test/echo",
      request: { body: { content: { "application/json": { schema: Body } }, required: true } },
      responses: { 200: { description: "echo" } },
    }),
    (c) => c.json(c.req.valid("json"), 200),
  );
  app.get("/__test/crash", () => {
    throw new Error("database password is hunter2");
  });
  app.get("/__test/domain", () => {
    throw new AppError(409, "ORDER_ALREADY_CANCELLED", "The order is already cancelled");
  });

  const call = async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext();
    const res = await app.request(path, init, env, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
  const postJson = (body: string) =>
    call("/__test/echo", { method: "POST", headers: { "content-type": "application/json" }, body });

  it("malformed JSON → 400", async () => {
    await expectError(await postJson('{"name": '), 400, "MALFORMED_JSON");
  });

  it("schema violation → 422 with field details", async () => {
    const body = await expectError(await postJson('{"name": 5}'), 422, "VALIDATION_FAILED");
    expect(body.error.details).toMatchObject({ issues: [{ path: "name" }] });
  });

  it("valid body passes", async () => {
    const res = await postJson('{"name":"pandora"}');
    expect(res.status).toBe(200);
  });

  it("domain error keeps its status and code", async () => {
    await expectError(await call("/__test/domain"), 409, "ORDER_ALREADY_CANCELLED");
  });

  it("unexpected error → 500 without internals", async () => {
    const body = await expectError(await call("/__test/crash"), 500, "INTERNAL_ERROR");
    expect(JSON.stringify(body)).not.toContain("hunter2");
  });
});
