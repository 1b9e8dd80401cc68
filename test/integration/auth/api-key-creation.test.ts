import { describe, expect, it } from "vitest";
import { PASSWORD, api, expectError, verifiedUser } from "./helpers";

const createKey = (token: string, body: Record<string, unknown>) =>
  api("POST", "/api/v1/users/me/api-keys", { token, body: { label: "bot", ...body } });

async function activeKeys(token: string): Promise<unknown[]> {
  const res = await api("GET", "/api/v1/users/me/api-keys", { token });
  return ((await res.json()) as { api_keys: unknown[] }).api_keys;
}

describe("creating an API key", () => {
  it("needs the current password: a stolen access token alone cannot mint a key", async () => {
    const { tokens } = await verifiedUser();
    const token = tokens.access_token;
    await expectError(await createKey(token, { permissions: ["read"] }), 403, "CURRENT_PASSWORD_REQUIRED");
    await expectError(
      await createKey(token, { permissions: ["read", "trade"], current_password: "not the password" }),
      403,
      "CURRENT_PASSWORD_INCORRECT",
    );
    expect(await activeKeys(token)).toEqual([]);
    const ok = await createKey(token, { permissions: ["read"], current_password: PASSWORD });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    expect(await ok.json()).toMatchObject({ api_key: { withdrawals_held_until: null } });
  });

  it("a withdraw key needs an IP allow-list, and holds withdrawals for 24 h", async () => {
    const { tokens } = await verifiedUser();
    const token = tokens.access_token;
    const body = { permissions: ["read", "withdraw"], current_password: PASSWORD };
    await expectError(await createKey(token, body), 422, "IP_ALLOWLIST_REQUIRED");
    await expectError(await createKey(token, { ...body, ip_allowlist: [] }), 422, "IP_ALLOWLIST_REQUIRED");
    const ok = await createKey(token, { ...body, ip_allowlist: ["203.0.113.5"] });
    expect(ok.status).toBe(201);
    const { api_key } = (await ok.json()) as { api_key: { withdrawals_held_until: string } };
    const held = Date.parse(api_key.withdrawals_held_until) - Date.now();
    expect(held).toBeGreaterThan(23.9 * 3_600_000);
    expect(held).toBeLessThanOrEqual(24 * 3_600_000);
  });

  it("keys are revoked by a password change and by logout-all", async () => {
    const user = await verifiedUser();
    let token = user.tokens.access_token;
    for (const permissions of [["read"], ["read", "trade"]]) {
      expect((await createKey(token, { permissions, current_password: PASSWORD })).status).toBe(201);
    }
    const changed = await api("POST", "/api/v1/users/me/password", {
      token,
      body: { current_password: PASSWORD, new_password: "a changed passphrase" },
    });
    expect(await changed.json()).toMatchObject({ revoked_sessions: 0, revoked_api_keys: 2 });
    expect(await activeKeys(token)).toEqual([]);

    expect(
      (await createKey(token, { permissions: ["read"], current_password: "a changed passphrase" })).status,
    ).toBe(201);
    const all = await api("POST", "/api/v1/users/me/logout-all", { token });
    expect(await all.json()).toEqual({ revoked_sessions: 1, revoked_api_keys: 1 });
    token = (
      (await (
        await api("POST", "/api/v1/auth/login", {
          body: { email: user.email, password: "a changed passphrase" },
        })
      ).json()) as { access_token: string }
    ).access_token;
    expect(await activeKeys(token)).toEqual([]);
  });
});
