import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../../src/app";
import { account, api, expectError, inOneWindow, login, randomIp, uniqueEmail } from "./helpers";

describe("no account enumeration", () => {
  it("unknown email and wrong password answer byte-identical status and body", async () => {
    const user = await account();
    const ask = (email: string) =>
      api("POST", "/api/v1/auth/login", {
        body: { email, password: "not the password at all" },
        ip: randomIp(),
        headers: { "x-request-id": "enumeration-probe" },
      });
    const t0 = performance.now();
    const unknown = await ask(uniqueEmail("nobody"));
    const t1 = performance.now();
    const wrong = await ask(user.email);
    const t2 = performance.now();
    // Both paths spend an Argon2id verification (~200 ms); skipping it would answer in ~5 ms.
    expect(t1 - t0).toBeGreaterThan(100);
    expect(t2 - t1).toBeGreaterThan(100);
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(unknown.status);
    expect(await wrong.text()).toBe(await unknown.text());
  });
});

describe("rate limits", () => {
  // The login limit is a sliding window over aligned quarters of an hour: the six run inside one.
  it("the sixth login attempt within 15 minutes → 429 with Retry-After and RateLimit-*", () =>
    inOneWindow(async () => {
      const email = uniqueEmail("bruteforce");
      const ip = randomIp();
      for (let i = 0; i < 5; i++) {
        await expectError(
          await api("POST", "/api/v1/auth/login", { body: { email, password: `guess number ${i}` }, ip }),
          401,
          "INVALID_CREDENTIALS",
        );
      }
      const sixth = await api("POST", "/api/v1/auth/login", {
        body: { email, password: "guess number 6" },
        ip,
      });
      await expectError(sixth, 429, "RATE_LIMITED");
      const retryAfter = Number(sixth.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(sixth.headers.get("ratelimit-limit")).toBe("5");
      expect(sixth.headers.get("ratelimit-remaining")).toBe("0");
      expect(Number(sixth.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
      // Another IP for the same email has its own budget.
      await expectError(
        await api("POST", "/api/v1/auth/login", { body: { email, password: "x" }, ip: randomIp() }),
        401,
      );
    }, 15 * 60_000));

  // The limits are sliding windows over aligned minutes: each count test runs inside one.
  it("100 requests per minute per IP, then 429", { timeout: 90_000 }, () =>
    inOneWindow(async () => {
      const ip = randomIp();
      for (let i = 0; i < Number(env.RATE_LIMIT_IP_PER_MINUTE); i++) {
        const res = await api("GET", "/api/v1/users/me", { ip });
        expect(res.status).toBe(401);
        expect(res.headers.get("ratelimit-limit")).toBe(env.RATE_LIMIT_IP_PER_MINUTE);
      }
      const over = await api("GET", "/api/v1/users/me", { ip });
      await expectError(over, 429, "RATE_LIMITED");
      expect(over.headers.get("retry-after")).toBeTruthy();
    }),
  );

  it("60 requests per minute per user, then 429", { timeout: 90_000 }, () =>
    inOneWindow(async () => {
      const user = await account();
      const { access_token } = await login(user.email);
      let last: Response | undefined;
      for (let i = 0; i <= Number(env.RATE_LIMIT_USER_PER_MINUTE); i++) {
        last = await api("GET", "/api/v1/users/me", { token: access_token });
        if (i < Number(env.RATE_LIMIT_USER_PER_MINUTE)) expect(last.status).toBe(200);
      }
      await expectError(last!, 429, "RATE_LIMITED");
    }),
  );
});

describe("authorization", () => {
  it("a user token on an admin route → 403; no token → 401", async () => {
    const user = await account();
    const { access_token } = await login(user.email);
    for (const [method, path] of [
      ["GET", "/api/v1/admin/users"],
      ["GET", `/api/v1/admin/users/${user.id}`],
      ["DELETE", `/api/v1/admin/users/${user.id}`],
      ["GET", "/api/v1/admin/audit-logs"],
    ] as const) {
      await expectError(await api(method, path, { token: access_token }), 403, "FORBIDDEN");
      await expectError(await api(method, path), 401, "UNAUTHORIZED");
    }
    await expectError(
      await api("PATCH", `/api/v1/admin/users/${user.id}/kyc`, {
        token: access_token,
        body: { status: "verified" },
      }),
      403,
    );
    const me = await api("GET", "/api/v1/users/me", { token: access_token });
    expect(((await me.json()) as { user: { kyc_status: string } }).user.kyc_status).toBe("pending");
  });

  it("logout ends the session; its refresh token and access token stop working", async () => {
    const user = await account();
    const pair = await login(user.email);
    const other = await login(user.email);
    const sessions = await api("GET", "/api/v1/users/me/sessions", { token: pair.access_token });
    const list = ((await sessions.json()) as { sessions: { id: string; current: boolean }[] }).sessions;
    expect(list).toHaveLength(2);
    const otherId = list.find((s) => !s.current)!.id;
    expect(
      (await api("DELETE", `/api/v1/users/me/sessions/${otherId}`, { token: pair.access_token })).status,
    ).toBe(204);
    await expectError(await api("GET", "/api/v1/users/me", { token: other.access_token }), 401);

    expect((await api("POST", "/api/v1/users/me/logout", { token: pair.access_token })).status).toBe(204);
    await expectError(await api("GET", "/api/v1/users/me", { token: pair.access_token }), 401);
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
  });

  it("changing the password needs the current one", async () => {
    const user = await account();
    const { access_token } = await login(user.email);
    await expectError(
      await api("POST", "/api/v1/users/me/password", {
        token: access_token,
        body: { current_password: "wrong wrong wrong", new_password: "another good passphrase" },
      }),
      403,
      "CURRENT_PASSWORD_INCORRECT",
    );
    await expectError(
      await api("POST", "/api/v1/users/me/password", {
        token: access_token,
        body: { current_password: user.password, new_password: "short" },
      }),
      422,
    );
  });
});

describe("when Redis is unreachable", () => {
  const app = createApp();
  const broken = { ...env, UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" };
  const call = async (path: string, init: RequestInit) => {
    const ctx = createExecutionContext();
    const res = await app.request(path, init, broken, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };

  it("login fails closed (503); other routes fail open", async () => {
    const user = await account();
    const { access_token } = await login(user.email);
    const ip = randomIp();
    await expectError(
      await call("/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": ip },
        body: JSON.stringify({ email: user.email, password: user.password }),
      }),
      503,
      "SERVICE_UNAVAILABLE",
    );
    const me = await call("/api/v1/users/me", {
      headers: { authorization: `Bearer ${access_token}`, "cf-connecting-ip": ip },
    });
    expect(me.status).toBe(200);
  });
});
