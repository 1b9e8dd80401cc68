import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { createRedis } from "../../../src/http/resources";
import { relayOutbox, type EventEnvelope } from "../../../src/domain/events/event-outbox";
import {
  api,
  auditActionsFor,
  eventsOf,
  expectError,
  login,
  randomIp,
  register,
  uniqueEmail,
  verificationToken,
  type TokenPair,
} from "./helpers";

async function streamEventsOf(userId: string): Promise<EventEnvelope[]> {
  const redis = createRedis(env);
  // What the after-commit relay and the cron do; idempotent.
  await withDatabase(env, (db) => relayOutbox(db, redis, 1_000));
  const entries = (await redis.xrange("user-service:events", "-", "+")) as Record<
    string,
    Record<string, unknown>
  >;
  return Object.values(entries)
    .map((f) => (typeof f.event === "string" ? JSON.parse(f.event) : f.event) as EventEnvelope)
    .filter((e) => e.user_id === userId);
}

describe("the whole journey", () => {
  it("register → verify → login → me → profile → refresh → password → logout-all; admin KYC and delete", async () => {
    const ip = randomIp();
    const email = uniqueEmail("journey");
    const user = await register(email);

    const verify = await api("POST", "/api/v1/auth/verify-email", {
      body: { token: await verificationToken(user.id) },
      ip,
    });
    expect(verify.status).toBe(200);

    const first = await login(email, user.password, ip);
    const me = await api("GET", "/api/v1/users/me", { token: first.access_token, ip });
    expect(await me.json()).toMatchObject({ user: { id: user.id, email_verified: true } });

    const patched = await api("PATCH", "/api/v1/users/me", {
      token: first.access_token,
      ip,
      body: { first_name: "Ada", last_name: "Lovelace" },
    });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ user: { first_name: "Ada", last_name: "Lovelace" } });
    // Any other field: 422 and nothing changes.
    await expectError(
      await api("PATCH", "/api/v1/users/me", {
        token: first.access_token,
        ip,
        body: { first_name: "Eve", role: "admin" },
      }),
      422,
      "VALIDATION_FAILED",
    );
    await expectError(
      await api("PATCH", "/api/v1/users/me", { token: first.access_token, ip, body: { email: "x@y.io" } }),
      422,
    );
    const unchanged = (await (
      await api("GET", "/api/v1/users/me", { token: first.access_token })
    ).json()) as {
      user: { first_name: string; role: string; email: string };
    };
    expect(unchanged.user).toMatchObject({ first_name: "Ada", role: "user", email });

    const rotated = await api("POST", "/api/v1/auth/refresh", {
      body: { refresh_token: first.refresh_token },
      ip,
    });
    expect(rotated.status).toBe(200);
    const second = (await rotated.json()) as TokenPair;

    // A second device, which the password change must sign out.
    const other = await login(email, user.password, ip);
    const changed = await api("POST", "/api/v1/users/me/password", {
      token: second.access_token,
      ip,
      body: { current_password: user.password, new_password: "a brand new passphrase" },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({
      revoked_sessions: 1,
      revoked_api_keys: 0,
      withdrawals_held_until: expect.any(String),
    });
    await expectError(await api("GET", "/api/v1/users/me", { token: other.access_token }), 401);
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: other.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
    expect((await api("GET", "/api/v1/users/me", { token: second.access_token })).status).toBe(200);
    await expectError(
      await api("POST", "/api/v1/auth/login", { body: { email, password: user.password }, ip: randomIp() }),
      401,
      "INVALID_CREDENTIALS",
    );
    const third = await login(email, "a brand new passphrase", randomIp());

    const sessions = await api("GET", "/api/v1/users/me/sessions", { token: third.access_token });
    expect(((await sessions.json()) as { sessions: unknown[] }).sessions).toHaveLength(2);

    const all = await api("POST", "/api/v1/users/me/logout-all", { token: third.access_token, ip });
    expect(await all.json()).toEqual({ revoked_sessions: 2, revoked_api_keys: 0 });
    await expectError(await api("GET", "/api/v1/users/me", { token: third.access_token }), 401);
    await expectError(await api("GET", "/api/v1/users/me", { token: second.access_token }), 401);

    // The admin finds the user, verifies KYC, then deletes the account.
    const admin = await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD, randomIp());
    const found = await api(
      "GET",
      `/api/v1/admin/users?q=${encodeURIComponent("lovelace")}&role=user&page_size=100`,
      {
        token: admin.access_token,
      },
    );
    expect(found.status).toBe(200);
    const list = (await found.json()) as { users: { id: string }[]; total: number; page: number };
    expect(list.users.map((u) => u.id)).toContain(user.id);
    const byEmail = await api("GET", `/api/v1/admin/users?q=${encodeURIComponent(email)}`, {
      token: admin.access_token,
    });
    expect(await byEmail.json()).toMatchObject({ total: 1, users: [{ id: user.id }] });

    const one = await api("GET", `/api/v1/admin/users/${user.id}`, { token: admin.access_token });
    expect(await one.json()).toMatchObject({ user: { id: user.id, kyc_status: "pending" } });

    await expectError(
      await api("PATCH", `/api/v1/admin/users/${user.id}/kyc`, {
        token: admin.access_token,
        body: { status: "rejected" },
      }),
      422,
    );
    const kyc = await api("PATCH", `/api/v1/admin/users/${user.id}/kyc`, {
      token: admin.access_token,
      body: { status: "verified", reason: "passport checked" },
    });
    expect(await kyc.json()).toMatchObject({ user: { kyc_status: "verified" } });
    const filtered = await api(
      "GET",
      `/api/v1/admin/users?kyc_status=verified&q=${encodeURIComponent(email)}`,
      {
        token: admin.access_token,
      },
    );
    expect(await filtered.json()).toMatchObject({ total: 1 });

    const fourth = await login(email, "a brand new passphrase", randomIp());
    const deleted = await api("DELETE", `/api/v1/admin/users/${user.id}`, { token: admin.access_token });
    expect(deleted.status).toBe(200);
    expect(
      ((await deleted.json()) as { user: { deleted_at: string | null } }).user.deleted_at,
    ).not.toBeNull();
    await expectError(await api("GET", "/api/v1/users/me", { token: fourth.access_token }), 401);
    await expectError(
      await api("POST", "/api/v1/auth/login", {
        body: { email, password: "a brand new passphrase" },
        ip: randomIp(),
      }),
      401,
      "INVALID_CREDENTIALS",
    );
    await expectError(
      await api("DELETE", `/api/v1/admin/users/${user.id}`, { token: admin.access_token }),
      404,
    );

    // The audit log holds each step, and admins can read it.
    const actions = await auditActionsFor(user.id);
    for (const action of [
      "user.register",
      "user.email.verify",
      "user.login",
      "user.profile.update",
      "user.password.change",
      "user.login.failed",
      "session.logout_all",
      "user.kyc.update",
      "user.delete",
    ]) {
      expect(actions).toContain(action);
    }
    const audit = await api("GET", `/api/v1/admin/audit-logs?resource_id=${user.id}&action=user.kyc.update`, {
      token: admin.access_token,
    });
    expect(await audit.json()).toMatchObject({
      total: 1,
      entries: [{ actor_id: admin.user.id, details: { old_status: "pending", new_status: "verified" } }],
    });

    // The event stream holds each domain event, in order, with the envelope.
    const outbox = (await eventsOf(user.id)).map((e) => e.type);
    const stream = await streamEventsOf(user.id);
    const types = stream.map((e) => e.type);
    expect(types).toEqual(outbox);
    expect(types).toEqual([
      "user.registered",
      "user.logged_in",
      "user.profile.updated",
      "user.logged_in",
      "user.password.changed",
      "user.logged_in",
      "user.kyc.updated",
      "user.logged_in",
      "user.deleted",
    ]);
    const kycEvent = stream.find((e) => e.type === "user.kyc.updated")!;
    expect(kycEvent).toMatchObject({
      user_id: user.id,
      payload: { old_status: "pending", new_status: "verified" },
      metadata: { ip_address: null, user_agent: null },
    });
    expect(kycEvent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(kycEvent.metadata.request_id).toBeTruthy();
    expect(stream.find((e) => e.type === "user.profile.updated")?.metadata.ip_address).toBe(ip);
  });
});
