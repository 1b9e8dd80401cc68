import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedis } from "../../../src/http/resources";
import { FLUSH_DELAY_MS } from "../../../src/services/auth/batched-limits";
import { account, api, inOneWindow, login, randomIp } from "./helpers";

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
    // The login's event relay may still be publishing (XADD, as a command or inside its
    // script) in the background: not ours.
    if (url.startsWith(env.UPSTASH_REDIS_REST_URL) && !/\bxadd\b/i.test(body)) calls.push(body);
    return original(input as RequestInfo, init);
  }) as typeof fetch;
  return calls;
}

describe("the authenticated hot path", () => {
  it("GET /users/me costs one Redis round trip: IP limit, caller limit and session together", async () => {
    const user = await account();
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

  it("then none while the isolate's knowledge is recent: the counts follow in one batched command", () =>
    inOneWindow(async () => {
      const user = await account();
      const { access_token } = await login(user.email);
      const ip = randomIp();
      expect((await api("GET", "/api/v1/users/me", { token: access_token, ip })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 5 * FLUSH_DELAY_MS));
      const calls = recordRedisCalls();
      for (let i = 0; i < 3; i++) {
        const res = await api("GET", "/api/v1/users/me", { token: access_token, ip });
        expect(res.status).toBe(200);
        expect(res.headers.get("ratelimit-remaining")).toBe(
          String(Number(env.RATE_LIMIT_USER_PER_MINUTE) - 2 - i),
        );
      }
      // The three requests were counted, by the IP and the caller, in batches after they were answered.
      const minute = Math.floor(Date.now() / 60_000);
      const counted = async (limiter: string, identifier: string) =>
        Number((await createRedis(env).get(`ratelimit:${limiter}:${identifier}:${minute}`)) ?? 0);
      await vi.waitFor(
        async () => {
          expect(await counted(`caller:${env.RATE_LIMIT_USER_PER_MINUTE}:1 m`, `user:${user.id}`)).toBe(4);
          expect(await counted(`ip:${env.RATE_LIMIT_IP_PER_MINUTE}:1 m`, ip)).toBe(4);
        },
        { timeout: 2_000 },
      );
      // Besides this test's own reads (GET): one to three batches, and never the session read of a
      // request that had to ask Redis.
      const worker = calls.filter((call) => !call.startsWith(`["get"`));
      expect(worker.length).toBeGreaterThanOrEqual(1);
      expect(worker.length).toBeLessThanOrEqual(3);
      for (const call of worker) expect(call).not.toContain("auth:session:");
    }));
});
