import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document listing every route", async () => {
    const app = createApp();
    const res = await app.request("/openapi.json", {}, { LOG_LEVEL: "error" });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe("3.1.0");

    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    // Every route registered through createRoute appears in the document.
    const documented = new Set(Object.keys(doc.paths));
    // Middleware (`app.use`, method ALL) is not an operation.
    const registered = app.routes
      .filter((r) => r.method !== "ALL")
      // `:name{regex}` (a parameter with a pattern) is documented as `{name}`.
      .map((r) => r.path.replace(/:(\w+)(\{(?:[^{}]|\{[^{}]*\})*\})?/g, "{$1}"))
      .filter((p) => !["/*", "*", "/openapi.json", "/docs"].includes(p));
    for (const path of registered) expect(documented).toContain(path);
  });
});
