import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { apiKeys } from "../../../src/db/schema";
import { createRedis } from "../../../src/http/resources";
import { LIVE_KEY_CACHE_MS } from "../../../src/services/auth/api-keys";
import {
  api,
  createApiKey,
  expectError,
  insideOneMinute,
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

  it("its per-key limit is still counted in Redis", async () => {
    await insideOneMinute(10_000);
    const { key, me } = await keyInUse();
    for (let i = 0; i < 3; i++) expect((await me()).status).toBe(200);
    const minute = Math.floor(Date.now() / 60_000);
    const prefix = `ratelimit:caller:${env.RATE_LIMIT_USER_PER_MINUTE}:1 m:key:${key.id}`;
    await vi.waitFor(async () => expect(Number(await createRedis(env).get(`${prefix}:${minute}`))).toBe(4), {
      timeout: 2_000,
    });
  });

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
});
