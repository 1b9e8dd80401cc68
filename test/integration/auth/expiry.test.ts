import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { emailVerificationTokens, sessions, users } from "../../../src/db/schema";
import { hashPassword, verifyPassword } from "../../../src/lib/password-hash";
import { account, api, expectError, login, register, verificationToken } from "./helpers";

describe("expiry", () => {
  it.each([
    ["its idle expiry", "idleExpiresAt"],
    ["the family's absolute expiry", "expiresAt"],
  ] as const)("a refresh token past %s is refused", async (_, column) => {
    const user = await account();
    const pair = await login(user.email);
    await withDatabase(env, (db) =>
      db
        .update(sessions)
        .set({ [column]: sql`now() - interval '1 second'` })
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

describe("password hash upgrade", () => {
  it("a hash with weaker parameters is replaced at the next successful login", async () => {
    const user = await account();
    const weak = await hashPassword(user.password, { m: 256, t: 1, p: 1 });
    await withDatabase(env, (db) =>
      db.update(users).set({ passwordHash: weak }).where(eq(users.id, user.id)),
    );
    await login(user.email);
    const [row] = await withDatabase(env, (db) =>
      db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, user.id)),
    );
    expect(row!.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await verifyPassword(user.password, row!.hash)).ok).toBe(true);
  });
});
