import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { api, login, randomIp, register } from "./helpers";

// The Worker under test shares this isolate, so its outbound fetches can be observed here.
const original = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = original;
});

function recordRedisCalls(): string[] {
  const calls: string[] = [];
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const body = String(init?.body ?? "");
    // The login's event relay may still be publishing (XADD) in the background: not ours.
    if (url.startsWith(env.UPSTASH_REDIS_REST_URL) && !/"xadd"/i.test(body)) calls.push(body);
    return original(input as RequestInfo, init);
  }) as typeof fetch;
  return calls;
}

describe("the authenticated hot path", () => {
  it("GET /users/me costs one Redis round trip: IP limit, caller limit and session together", async () => {
    const user = await register();
    const { access_token } = await login(user.email);
    const ip = randomIp();
    const calls = recordRedisCalls();
    const res = await api("GET", "/api/v1/users/me", { token: access_token, ip });
    expect(res.status).toBe(200);
    expect(calls, JSON.stringify(calls)).toHaveLength(1);
    expect(calls[0]).toContain(`ratelimit:ip:`);
    expect(calls[0]).toContain(`ratelimit:caller:`);
    expect(calls[0]).toContain(`auth:session:`);
  });
});
