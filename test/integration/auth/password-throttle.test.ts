import { describe, expect, it } from "vitest";
import { ACCOUNT_FAILURES } from "../../../src/routes/auth";
import { PASSWORD_CHANGES_PER_15_MINUTES } from "../../../src/routes/me";
import { api, expectError, login, PASSWORD, randomIp, register } from "./helpers";

describe("password guessing is slowed per account", () => {
  it("failed sign-ins from many IPs slow the account down (429 with Retry-After), others are untouched", async () => {
    const victim = await register();
    const bystander = await register();
    for (let i = 0; i < ACCOUNT_FAILURES.max; i++) {
      const res = await api("POST", "/api/v1/auth/login", {
        body: { email: victim.email, password: `guess number ${i}` },
        ip: randomIp(), // a botnet: each IP stays far under the per-IP limit
      });
      await expectError(res, 401, "INVALID_CREDENTIALS");
    }
    const refused = await api("POST", "/api/v1/auth/login", {
      body: { email: victim.email, password: PASSWORD },
      ip: randomIp(),
    });
    await expectError(refused, 429, "RATE_LIMITED");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Successful sign-ins never count: the bystander signs in as often as the per-IP limit allows.
    for (let i = 0; i < 3; i++) await login(bystander.email);
  });

  it(`password changes: ${PASSWORD_CHANGES_PER_15_MINUTES} attempts per 15 minutes per user, then 429`, async () => {
    const user = await register();
    const token = (await login(user.email)).access_token;
    const attempt = () =>
      api("POST", "/api/v1/users/me/password", {
        token,
        body: { current_password: "not my password", new_password: "another sturdy passphrase" },
      });
    for (let i = 0; i < PASSWORD_CHANGES_PER_15_MINUTES; i++) {
      await expectError(await attempt(), 403, "CURRENT_PASSWORD_INCORRECT");
    }
    const refused = await attempt();
    await expectError(refused, 429, "RATE_LIMITED");
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
  });
});
