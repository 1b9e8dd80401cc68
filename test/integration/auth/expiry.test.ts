import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { emailVerificationTokens, sessions } from "../../../src/db/schema";
import { api, expectError, login, register, verificationToken } from "./helpers";

describe("expiry", () => {
  it("a refresh token past its idle expiry is refused", async () => {
    const user = await register();
    const pair = await login(user.email);
    await withDatabase(env, (db) =>
      db
        .update(sessions)
        .set({ idleExpiresAt: sql`now() - interval '1 second'` })
        .where(eq(sessions.userId, user.id)),
    );
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
  });

  it("a refresh token past the family's absolute expiry is refused", async () => {
    const user = await register();
    const pair = await login(user.email);
    await withDatabase(env, (db) =>
      db
        .update(sessions)
        .set({ expiresAt: sql`now() - interval '1 second'` })
        .where(eq(sessions.userId, user.id)),
    );
    await expectError(
      await api("POST", "/api/v1/auth/refresh", { body: { refresh_token: pair.refresh_token } }),
      401,
      "INVALID_REFRESH_TOKEN",
    );
  });

  it("an expired email verification token is refused", async () => {
    const user = await register();
    const token = await verificationToken(user.id);
    await withDatabase(env, (db) =>
      db
        .update(emailVerificationTokens)
        .set({ expiresAt: sql`now() - interval '1 second'` })
        .where(eq(emailVerificationTokens.userId, user.id)),
    );
    await expectError(
      await api("POST", "/api/v1/auth/verify-email", { body: { token } }),
      400,
      "INVALID_VERIFICATION_TOKEN",
    );
  });
});
