import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { account, api, login } from "./auth/helpers";

// The headers middleware adds after the route answered (request id, no-store, Vary, security
// headers, rate limits) are written into the route's response in place; CORS headers only
// where a browser asked (`Origin`).

describe("headers of an answered request", () => {
  it("an API request without Origin: every header, no CORS headers but Vary: Origin", async () => {
    const user = await account();
    const { access_token } = await login(user.email);
    const res = await api("GET", "/api/v1/orders?limit=1", {
      token: access_token,
      headers: { "x-request-id": "answered-1" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("answered-1");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("vary")).toBe("Origin");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("ratelimit-limit")).toBeTruthy();
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.has("access-control-allow-origin")).toBe(false);
    expect(res.headers.has("access-control-expose-headers")).toBe(false);
  });

  it("a browser's request and preflight: the CORS headers as before", async () => {
    const origin = "https://app.example";
    const res = await SELF.fetch("http://x/health", { headers: { origin, "x-request-id": "answered-2" } });
    expect(res.headers.get("access-control-allow-origin")).toBe(origin);
    expect(res.headers.get("access-control-expose-headers")).toContain("RateLimit-Remaining");
    expect(res.headers.get("vary")).toBe("Origin");
    expect(res.headers.get("x-request-id")).toBe("answered-2");
    const preflight = await SELF.fetch("http://x/api/v1/orders", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Idempotency-Key");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
  });
});
