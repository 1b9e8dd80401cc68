import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { apiKeys } from "../../../src/db/schema";
import { createRedis } from "../../../src/http/resources";
import { findLiveApiKey, LIVE_KEY_CACHE_MS } from "../../../src/services/auth/api-keys";
import { binanceError, signedFetch as binanceFetch } from "../binance/helpers";
import {
  api,
  createApiKey,
  expectError,
  inOneWindow,
  login,
  randomIp,
  signedFetch,
  verifiedUser,
  within,
} from "./helpers";

// Each isolate keeps the live keys it read (with their HMAC key, never the secret) for
// LIVE_KEY_CACHE_MS: a bot's signed requests then cost no Postgres query for the key.

const original = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = original;
});

/** The Worker's subrequests from now on (it shares this isolate), by service. */
function recordSubrequests() {
  const seen = { postgres: 0, redis: [] as string[] };
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === env.NEON_FETCH_ENDPOINT) seen.postgres++;
    else if (url.startsWith(env.UPSTASH_REDIS_REST_URL)) seen.redis.push(String(init?.body ?? ""));
    return original(input as RequestInfo, init);
  }) as typeof fetch;
  return seen;
}

async function keyInUse(permissions = ["read"]) {
  const user = await verifiedUser();
  const key = await createApiKey(user.tokens.access_token, permissions);
  const me = () => signedFetch(key, "GET", "/api/v1/users/me");
  expect((await me()).status).toBe(200); // the key is now cached in this isolate
  return { user, key, me };
}

describe("an isolate's copy of a live API key", () => {
  it("a signed request on a cached key sends no Postgres query for it, and one Redis command (the replay guard)", async () => {
    const { me } = await keyInUse();
    const seen = recordSubrequests();
    expect((await me()).status).toBe(200);
    expect(seen.postgres).toBe(0);
    // The replay guard's SET NX; the caller's limit is judged here and counted in a later batch.
    const commands = seen.redis.filter((body) => !/evalsha|"eval"/i.test(body));
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(/apikey:seen:/);
  });

  it("its per-key limit is still counted in Redis", () =>
    inOneWindow(async () => {
      const { key, me } = await keyInUse();
      for (let i = 0; i < 3; i++) expect((await me()).status).toBe(200);
      const minute = Math.floor(Date.now() / 60_000);
      const prefix = `ratelimit:caller:${env.RATE_LIMIT_USER_PER_MINUTE}:1 m:key:${key.id}`;
      await vi.waitFor(
        async () => expect(Number(await createRedis(env).get(`${prefix}:${minute}`))).toBe(4),
        {
          timeout: 2_000,
        },
      );
    }));

  it("a revocation through this isolate takes effect at once", async () => {
    const { user, key, me } = await keyInUse();
    const token = user.tokens.access_token;
    expect((await api("DELETE", `/api/v1/users/me/api-keys/${key.id}`, { token })).status).toBe(204);
    await expectError(await me(), 401, "INVALID_API_SIGNATURE");
  });

  it("a revocation made elsewhere takes effect within LIVE_KEY_CACHE_MS", async () => {
    const { key, me } = await keyInUse();
    // Another isolate's revocation: the row changes, this isolate is not told.
    await withDatabase(env, (db) =>
      db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.id)),
    );
    await within(LIVE_KEY_CACHE_MS + 1_000, async () => (await me()).status === 401);
    await expectError(await me(), 401, "INVALID_API_SIGNATURE");
  });

  it("a ban through this isolate refuses the cached key at once, on both faces; reinstating restores it", async () => {
    const { user, key, me } = await keyInUse();
    const binance = { userId: user.id, ...key, ip: randomIp(), token: user.tokens.access_token };
    expect((await binanceFetch(binance, "GET", "/account")).status).toBe(200);
    const admin = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
    const status = (value: string) =>
      api("PATCH", `/api/v1/admin/users/${user.id}/status`, { token: admin, body: { status: value } });

    expect((await status("banned")).status).toBe(200);
    await expectError(await me(), 403, "ACCOUNT_BANNED");
    await binanceError(binanceFetch(binance, "GET", "/account"), 401, -2015);

    expect((await status("active")).status).toBe(200);
    expect((await me()).status).toBe(200);
    expect((await binanceFetch(binance, "GET", "/account")).status).toBe(200);
  });

  it("a deletion of its user through this isolate refuses the cached key at once", async () => {
    const { user, me } = await keyInUse();
    const admin = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
    expect((await api("DELETE", `/api/v1/admin/users/${user.id}`, { token: admin })).status).toBe(200);
    await expectError(await me(), 401, "INVALID_API_SIGNATURE");
  });

  // Six rounds, each a new user and key under four loops of signed requests: 24 s alone on a
  // machine at load 12, past the default 30 s there with another file beside it.
  it("a revocation holds against this isolate's requests that race it (nothing re-caches the key)", async () => {
    for (const revoke of ["one key", "logout-all"] as const) {
      for (let round = 0; round < 3; round++) {
        const { user, key } = await keyInUse();
        const token = user.tokens.access_token;
        let done = false;
        let n = 0;
        // Signed requests back to back while the revocation runs: each may load the key anew.
        const racing = Array.from({ length: 4 }, async () => {
          while (!done) await signedFetch(key, "GET", `/api/v1/users/me?n=${n++}`);
        });
        try {
          const res =
            revoke === "one key"
              ? await api("DELETE", `/api/v1/users/me/api-keys/${key.id}`, { token })
              : await api("POST", "/api/v1/users/me/logout-all", { token });
          expect(res.status).toBeLessThan(300);
          await expectError(
            await signedFetch(key, "GET", "/api/v1/users/me?after"),
            401,
            "INVALID_API_SIGNATURE",
          );
        } finally {
          done = true;
          await Promise.all(racing);
        }
      }
    }
  }, 90_000);

  it("a key revoked elsewhere is refused by the first renewal, never served stale from the copy", async () => {
    const { key, me } = await keyInUse();
    const cachedAt = Date.now();
    await withDatabase(env, (db) =>
      db.update(apiKeys).set({ revokedAt: new Date() }).where(eq(apiKeys.id, key.id)),
    );
    // Past the renewal age, short of the maximum: the copy is renewed, and the renewal says "gone".
    await new Promise((resolve) => setTimeout(resolve, cachedAt + LIVE_KEY_CACHE_MS / 2 + 100 - Date.now()));
    expect(Date.now() - cachedAt).toBeLessThan(LIVE_KEY_CACHE_MS - 300);
    await expectError(await me(), 401, "INVALID_API_SIGNATURE");
  });

  it("what it loads of the key's user is the view's columns: no password hash, no withdrawal settings", async () => {
    const { key } = await keyInUse();
    const found = await withDatabase(env, (db) => findLiveApiKey(db, key.key));
    expect(found!.user.id).toBeTruthy();
    expect(found!.user).not.toHaveProperty("passwordHash");
    expect(found!.user).not.toHaveProperty("withdrawalAllowlistOnly");
  });
});
