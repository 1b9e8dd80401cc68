import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { createRedis } from "../../../src/http/resources";
import { LOCAL_TTL_MS, sessionCacheKey } from "../../../src/services/auth/session-cache";
import { account, api, expectError, login, within } from "./helpers";

// Each isolate keeps its copy of a session's cache entry for LOCAL_TTL_MS. A revocation or a ban
// made through ANOTHER isolate reaches this one only through Redis: it must take effect here
// within LOCAL_TTL_MS. (Through this isolate it is at once: guards.test.ts, "logout ends the
// session".) Another isolate is played here by writing the Redis entry directly, as its
// `tombstoneSessions` / `overwriteSnapshots` would.

async function signedIn() {
  const user = await account();
  const { access_token } = await login(user.email);
  const me = () => api("GET", "/api/v1/users/me", { token: access_token });
  expect((await me()).status).toBe(200); // the session is now copied in this isolate
  return { me, key: sessionCacheKey(decodeJwt(access_token).sid as string) };
}

describe("an isolate's copy of a session", () => {
  it("a revocation made elsewhere takes effect within LOCAL_TTL_MS", async () => {
    const { me, key } = await signedIn();
    await createRedis(env).set(key, JSON.stringify({ revoked: true }), { ex: 120 });
    await within(LOCAL_TTL_MS + 1_000, async () => (await me()).status === 401);
    // And it stays refused.
    await expectError(await me(), 401, "UNAUTHORIZED");
  });

  it("a ban made elsewhere takes effect within LOCAL_TTL_MS", async () => {
    const { me, key } = await signedIn();
    const redis = createRedis(env);
    const entry = (await redis.get<{ user: { status: string } }>(key))!;
    await redis.set(key, JSON.stringify({ user: { ...entry.user, status: "banned" } }), { ex: 60 });
    await within(LOCAL_TTL_MS + 1_000, async () => (await me()).status === 403);
    await expectError(await me(), 403, "ACCOUNT_BANNED");
  });
});
