import { describe, expect, it } from "vitest";
import {
  PASSWORD,
  api,
  expectError,
  login,
  register,
  uniqueEmail,
  verificationToken,
  type TokenPair,
} from "./helpers";

describe("register, verify, login, refresh", () => {
  it("registers with 201, verifies the email once, signs in and reads the profile", async () => {
    const user = await register();
    const token = await verificationToken(user.id);
    const verified = await api("POST", "/api/v1/auth/verify-email", { body: { token } });
    expect(verified.status).toBe(200);
    expect(((await verified.json()) as { user: { email_verified: boolean } }).user.email_verified).toBe(true);
    await expectError(
      await api("POST", "/api/v1/auth/verify-email", { body: { token } }),
      400,
      "INVALID_VERIFICATION_TOKEN",
    );

    const pair = await login(user.email);
    expect(pair).toMatchObject({ token_type: "Bearer", expires_in: 900, user: { id: user.id } });
    const me = await api("GET", "/api/v1/users/me", { token: pair.access_token });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({
      user: { id: user.id, email: user.email, kyc_status: "pending" },
    });
  });

  it("rotates refresh tokens; two concurrent refreshes with one token → exactly one 200", async () => {
    const user = await register();
    const first = await login(user.email);
    const r1 = await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: first.refresh_token } });
    expect(r1.status).toBe(200);
    const second = (await r1.json()) as TokenPair;
    expect(second.refresh_token).not.toBe(first.refresh_token);

    const [a, b] = await Promise.all([
      api("POST", "/api/v1/auth/refresh", { body: { refresh_token: second.refresh_token } }),
      api("POST", "/api/v1/auth/refresh", { body: { refresh_token: second.refresh_token } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
  });

  it("refuses a 7- and a 129-character password, a common one, and a duplicate email in any case", async () => {
    const email = uniqueEmail("Alice");
    const body = (password: string, e = email) => ({ email: e, password, first_name: "A", last_name: "B" });
    await expectError(
      await api("POST", "/api/v1/auth/register", { body: body("1234567") }),
      422,
      "VALIDATION_FAILED",
    );
    await expectError(await api("POST", "/api/v1/auth/register", { body: body("x".repeat(129)) }), 422);
    await expectError(await api("POST", "/api/v1/auth/register", { body: body("password123") }), 422);
    const ok = await api("POST", "/api/v1/auth/register", { body: body(PASSWORD, email.toLowerCase()) });
    expect(ok.status).toBe(201);
    await expectError(
      await api("POST", "/api/v1/auth/register", {
        body: body(PASSWORD, email.replace(/^a/, "A").toUpperCase()),
      }),
      409,
      "EMAIL_TAKEN",
    );
  });
});
