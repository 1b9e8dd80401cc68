import { describe, expect, it } from "vitest";
import { SIGN_IN_SLOWDOWN, signInDelayMs } from "../../../src/services/auth/sign-in-slowdown";
import { PASSWORD_CHANGES_PER_15_MINUTES } from "../../../src/routes/me";
import { api, expectError, login, PASSWORD, randomIp, register } from "./helpers";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("password guessing is slowed per account", () => {
  const { freeFailures } = SIGN_IN_SLOWDOWN;
  /** The failures that cost nothing yet, in parallel (each is an Argon2id hash). */
  const failFreely = async (email: string) => {
    const answers = await Promise.all(
      Array.from({ length: freeFailures }, (_, i) => guess(email, `guess number ${i}`)),
    );
    for (const res of answers) await expectError(res, 401, "INVALID_CREDENTIALS");
  };
  const guess = (email: string, password: string) =>
    api("POST", "/api/v1/auth/login", {
      body: { email, password },
      ip: randomIp(), // a botnet: each IP stays far under the per-IP limit
    });

  it("failed sign-ins from many IPs slow the account down with growing delays, never locking the owner out", async () => {
    const victim = await register();
    const bystander = await register();
    await failFreely(victim.email);
    // The next attempt, right password or not, waits the first delay (1 s).
    const refused = await guess(victim.email, PASSWORD);
    await expectError(refused, 429, "RATE_LIMITED");
    expect(refused.headers.get("retry-after")).toBe("1");
    // After the delay one more guess goes through; the one after it waits twice as long.
    await sleep(1_100);
    await expectError(await guess(victim.email, "one more guess"), 401, "INVALID_CREDENTIALS");
    const longer = await guess(victim.email, PASSWORD);
    await expectError(longer, 429, "RATE_LIMITED");
    expect(longer.headers.get("retry-after")).toBe("2");
    // Not a lockout: once the delay has passed the owner signs in, and that forgets the failures.
    await sleep(2_100);
    expect((await guess(victim.email, PASSWORD)).status).toBe(200);
    await expectError(await guess(victim.email, "a typo"), 401, "INVALID_CREDENTIALS");
    expect((await guess(victim.email, PASSWORD)).status).toBe(200);
    // Successful sign-ins never count: the bystander signs in as often as the per-IP limit allows.
    for (let i = 0; i < 3; i++) await login(bystander.email);
  }, 60_000);

  it("a burst of parallel guesses once a delay ends gets one attempt through, not all of them", async () => {
    const victim = await register();
    await failFreely(victim.email);
    await sleep(1_100);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => guess(victim.email, `burst ${i}`)));
    expect(burst.map((r) => r.status).sort()).toEqual([401, ...Array(9).fill(429)]);
  }, 60_000);

  it("after ten free failures the delay grows 1 s, 2 s, 4 s … and stops growing at a minute", () => {
    const delays = [0, 5, 9, 10, 11, 12, 15, 16, 40].map((n) => signInDelayMs(n));
    expect(delays).toEqual([0, 0, 0, 1_000, 2_000, 4_000, 32_000, 60_000, 60_000]);
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
