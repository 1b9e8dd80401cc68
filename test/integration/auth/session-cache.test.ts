import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createRedis } from "../../../src/http/resources";
import {
  fillCachedSession,
  overwriteSnapshots,
  readCachedSession,
  tombstoneSessions,
} from "../../../src/services/auth/session-cache";
import type { UserView } from "../../../src/domain/auth/user-view";

const user = (first: string): UserView => ({
  id: crypto.randomUUID(),
  email: "cache@example.test",
  first_name: first,
  last_name: "User",
  role: "user",
  kyc_status: "pending",
  kyc_reason: null,
  status: "active",
  email_verified: false,
  email_verified_at: null,
  two_factor_enabled: false,
  created_at: new Date().toISOString(),
  updated_at: new Date().toISOString(),
  deleted_at: null,
  order_limits: { per_10s: null, per_day: null },
});

describe("the session cache", () => {
  it("never overwrites a tombstone: neither a fill nor a user change resurrects a revoked session", async () => {
    const redis = createRedis(env);
    const revoked = crypto.randomUUID();
    const live = crypto.randomUUID();
    const absent = crypto.randomUUID();
    await fillCachedSession(redis, revoked, user("Before"));
    await fillCachedSession(redis, live, user("Before"));
    await tombstoneSessions(redis, [revoked]);

    // A profile, KYC or ban change racing the revocation, then a fill that read Postgres before it.
    await overwriteSnapshots(redis, [revoked, live, absent], user("After"));
    await fillCachedSession(redis, revoked, user("Stale"));

    expect(await readCachedSession(redis, revoked)).toEqual({ revoked: true });
    expect(await readCachedSession(redis, live)).toMatchObject({ user: { first_name: "After" } });
    // No entry stays none: the next request reads Postgres.
    expect(await readCachedSession(redis, absent)).toBeNull();
  });
});
