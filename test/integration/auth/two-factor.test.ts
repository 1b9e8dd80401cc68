import { describe, expect, it } from "vitest";
import { totpCode } from "../../../src/lib/totp";
import {
  PASSWORD,
  api,
  auditActionsFor,
  enableTwoFactor,
  expectError,
  freshTotp,
  randomIp,
  verifiedUser,
  type TokenPair,
} from "./helpers";

const loginWith = (email: string, extra: Record<string, unknown> = {}) =>
  api("POST", "/api/v1/auth/login", { body: { email, password: PASSWORD, ...extra }, ip: randomIp() });

describe("TOTP two-factor authentication", () => {
  it("setup → enable → sign-in needs a fresh code; wrong and reused codes are refused", async () => {
    const user = await verifiedUser();
    const token = user.tokens.access_token;

    // Setup gives a secret and an otpauth URL; nothing is in force yet.
    const setup = await api("POST", "/api/v1/users/me/2fa/setup", { token });
    expect(setup.status).toBe(200);
    expect(setup.headers.get("cache-control")).toBe("no-store");
    const { secret, otpauth_url } = (await setup.json()) as { secret: string; otpauth_url: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauth_url).toContain(`secret=${secret}`);
    expect((await loginWith(user.email)).status).toBe(200);

    // Enabling needs the app's current code.
    await expectError(
      await api("POST", "/api/v1/users/me/2fa/enable", { token, body: { code: "000000" } }),
      403,
      "INVALID_TWO_FACTOR_CODE",
    );
    const enableCode = totpCode(secret, Date.now());
    const enabled = await api("POST", "/api/v1/users/me/2fa/enable", { token, body: { code: enableCode } });
    expect(enabled.status).toBe(200);
    const { recovery_codes } = (await enabled.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    expect(new Set(recovery_codes).size).toBe(10);
    await expectError(
      await api("POST", "/api/v1/users/me/2fa/setup", { token }),
      409,
      "TWO_FACTOR_ALREADY_ENABLED",
    );
    const me = await api("GET", "/api/v1/users/me", { token });
    expect(((await me.json()) as { user: { two_factor_enabled: boolean } }).user.two_factor_enabled).toBe(
      true,
    );

    // The password alone no longer signs in; neither does a wrong code.
    await expectError(await loginWith(user.email), 401, "TWO_FACTOR_REQUIRED");
    await expectError(await loginWith(user.email, { totp_code: "123456" }), 401, "INVALID_TWO_FACTOR_CODE");
    // The code that enabled 2FA was used: it does not sign in.
    await expectError(await loginWith(user.email, { totp_code: enableCode }), 401, "INVALID_TWO_FACTOR_CODE");
    // A wrong password with a code is still the plain credentials error (the code is not checked).
    await expectError(
      await api("POST", "/api/v1/auth/login", {
        body: { email: user.email, password: "not the password", totp_code: "123456" },
        ip: randomIp(),
      }),
      401,
      "INVALID_CREDENTIALS",
    );

    const code = await freshTotp(user.id, secret);
    const signedIn = await loginWith(user.email, { totp_code: code });
    expect(signedIn.status).toBe(200);
    expect(((await signedIn.json()) as TokenPair).access_token).toBeTruthy();
    // The same code again is refused: each code works once.
    await expectError(await loginWith(user.email, { totp_code: code }), 401, "INVALID_TWO_FACTOR_CODE");
    expect(await auditActionsFor(user.id)).toEqual(
      expect.arrayContaining(["user.two_factor.setup", "user.two_factor.enable", "user.login.failed"]),
    );
  });

  it("a recovery code signs in once", async () => {
    const user = await verifiedUser();
    const { recoveryCodes } = await enableTwoFactor(user.tokens.access_token);
    const [first] = recoveryCodes;
    // Retyped in capitals without dashes, it is the same code.
    const retyped = first!.toUpperCase().replace(/-/g, "");
    expect((await loginWith(user.email, { recovery_code: retyped })).status).toBe(200);
    await expectError(await loginWith(user.email, { recovery_code: first }), 401, "INVALID_TWO_FACTOR_CODE");
    await expectError(
      await loginWith(user.email, { recovery_code: "abcd-efgh-jkmn" }),
      401,
      "INVALID_TWO_FACTOR_CODE",
    );
    expect((await loginWith(user.email, { recovery_code: recoveryCodes[1] })).status).toBe(200);
  });

  it("password change and API key creation ask for a fresh code", async () => {
    const user = await verifiedUser();
    const token = user.tokens.access_token;
    const { secret } = await enableTwoFactor(token);
    const keyBody = { label: "bot", permissions: ["read"], current_password: PASSWORD };
    await expectError(
      await api("POST", "/api/v1/users/me/api-keys", { token, body: keyBody }),
      403,
      "TWO_FACTOR_REQUIRED",
    );
    await expectError(
      await api("POST", "/api/v1/users/me/api-keys", { token, body: { ...keyBody, totp_code: "000000" } }),
      403,
      "INVALID_TWO_FACTOR_CODE",
    );
    const created = await api("POST", "/api/v1/users/me/api-keys", {
      token,
      body: { ...keyBody, totp_code: await freshTotp(user.id, secret) },
    });
    expect(created.status).toBe(201);

    const change = { current_password: PASSWORD, new_password: "another sturdy passphrase" };
    await expectError(
      await api("POST", "/api/v1/users/me/password", { token, body: change }),
      403,
      "TWO_FACTOR_REQUIRED",
    );
    const changed = await api("POST", "/api/v1/users/me/password", {
      token,
      body: { ...change, totp_code: await freshTotp(user.id, secret) },
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toMatchObject({ revoked_api_keys: 1 });
  });

  it("disable needs the password and a code (TOTP or recovery); then the password alone signs in", async () => {
    const user = await verifiedUser();
    const token = user.tokens.access_token;
    const { secret, recoveryCodes } = await enableTwoFactor(token);
    const disable = (body: Record<string, unknown>) =>
      api("POST", "/api/v1/users/me/2fa/disable", { token, body });
    await expectError(
      await disable({ code: await freshTotp(user.id, secret), password: "wrong password" }),
      403,
      "CURRENT_PASSWORD_INCORRECT",
    );
    await expectError(await disable({ code: "000000", password: PASSWORD }), 403, "INVALID_TWO_FACTOR_CODE");
    await expectError(await disable({ password: PASSWORD }), 422);
    const off = await disable({ code: recoveryCodes[0], password: PASSWORD });
    expect(off.status).toBe(200);
    expect(await off.json()).toMatchObject({ withdrawals_held_until: expect.any(String) });
    await expectError(
      await disable({ code: await freshTotp(user.id, secret), password: PASSWORD }),
      409,
      "TWO_FACTOR_NOT_ENABLED",
    );
    expect((await loginWith(user.email)).status).toBe(200);
    // Enable without setup (the secret went with disable) is refused.
    await expectError(
      await api("POST", "/api/v1/users/me/2fa/enable", { token, body: { code: "123456" } }),
      409,
      "TWO_FACTOR_NOT_SET_UP",
    );
  });

  it("API keys and signed-out callers cannot reach the 2FA routes", async () => {
    await expectError(await api("POST", "/api/v1/users/me/2fa/setup"), 401);
    await expectError(await api("POST", "/api/v1/users/me/2fa/enable", { body: { code: "123456" } }), 401);
  });
});
