import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { passwordResetTokens } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/secure-random";
import { PASSWORD, api, eventsOf, expectError, login, randomIp, uniqueEmail, verifiedUser } from "./helpers";

const NEW_PASSWORD = "a freshly reset passphrase";

const requestReset = (email: string, ip = randomIp()) =>
  api("POST", "/api/v1/auth/password-reset/request", { body: { email }, ip });
const confirm = (token: string, new_password = NEW_PASSWORD) =>
  api("POST", "/api/v1/auth/password-reset/confirm", { body: { token, new_password } });

/** The reset token as the mailer reads it from the event (written after the 202 is sent). */
async function resetToken(userId: string, nth = 1): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const events = (await eventsOf(userId)).filter((e) => e.type === "user.password_reset.requested");
    if (events.length >= nth) {
      return (events[nth - 1]!.payload as { password_reset: { token: string } }).password_reset.token;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no password reset event for ${userId}`);
}

describe("password reset", () => {
  it("answers an unknown email exactly as a known one (202, same body)", async () => {
    const user = await verifiedUser();
    const known = await requestReset(user.email);
    const unknown = await requestReset(uniqueEmail("nobody"));
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    const knownBody = (await known.json()) as Record<string, unknown>;
    expect(await unknown.json()).toEqual(knownBody);
    expect(knownBody).toEqual({ status: "accepted" });
    await resetToken(user.id); // only the known email gets a token
  });

  it("sets the new password and ends every session and API key; the token works once", async () => {
    const user = await verifiedUser();
    const other = await login(user.email);
    const key = await api("POST", "/api/v1/users/me/api-keys", {
      token: user.tokens.access_token,
      body: { label: "bot", permissions: ["read"], current_password: PASSWORD },
    });
    expect(key.status).toBe(201);

    expect((await requestReset(user.email)).status).toBe(202);
    const token = await resetToken(user.id);
    const done = await confirm(token);
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({
      revoked_sessions: 2,
      revoked_api_keys: 1,
      withdrawals_held_until: expect.any(String),
    });

    for (const pair of [user.tokens, other]) {
      await expectError(await api("GET", "/api/v1/users/me", { token: pair.access_token }), 401);
      await expectError(
        await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }),
        401,
        "INVALID_REFRESH_TOKEN",
      );
    }
    const fresh = await login(user.email, NEW_PASSWORD);
    const keys = await api("GET", "/api/v1/users/me/api-keys", { token: fresh.access_token });
    expect(((await keys.json()) as { api_keys: unknown[] }).api_keys).toEqual([]);
    await expectError(
      await api("POST", "/api/v1/auth/login", {
        body: { email: user.email, password: PASSWORD },
        ip: randomIp(),
      }),
      401,
      "INVALID_CREDENTIALS",
    );

    await expectError(await confirm(token, "yet another passphrase"), 400, "RESET_TOKEN_USED");
  });

  it("refuses an unknown token and an expired one with their own codes", async () => {
    await expectError(await confirm("not-a-token"), 400, "INVALID_RESET_TOKEN");
    const user = await verifiedUser();
    expect((await requestReset(user.email)).status).toBe(202);
    const token = await resetToken(user.id);
    await withDatabase(env, async (db) =>
      db
        .update(passwordResetTokens)
        .set({ expiresAt: new Date(Date.now() - 1_000) })
        .where(eq(passwordResetTokens.tokenHash, await sha256Hex(token))),
    );
    await expectError(await confirm(token), 400, "RESET_TOKEN_EXPIRED");
    // The old password still works: nothing changed.
    expect((await login(user.email)).access_token).toBeTruthy();
    await expectError(await confirm(""), 422);
    await expectError(await confirm(token, "short"), 422);
  });

  it("a newer reset makes the older link useless once either is used", async () => {
    const user = await verifiedUser();
    expect((await requestReset(user.email)).status).toBe(202);
    const first = await resetToken(user.id, 1);
    expect((await requestReset(user.email)).status).toBe(202);
    const second = await resetToken(user.id, 2);
    expect((await confirm(second)).status).toBe(200);
    await expectError(await confirm(first, "yet another passphrase"), 400, "RESET_TOKEN_USED");
  });
});
