import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, desc, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { auditLogs, eventOutbox, userTotp, users } from "../../../src/db/schema";
import { hmacSha256Hex, signaturePayload } from "../../../src/lib/api-key-crypto";
import { authConfig } from "../../../src/lib/auth-config";
import { hashPassword } from "../../../src/lib/password-hash";
import { totpCode } from "../../../src/lib/totp";
import type { EventEnvelope } from "../../../src/domain/events/event-outbox";

/** Test helpers for the account service; other capabilities' tests may use them too. */

export const PASSWORD = "a sturdy test passphrase";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; request_id: string };
}

export interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  user: { id: string; email: string; role: string; kyc_status: string; email_verified: boolean };
}

/** A random client IP per caller keeps per-IP limits of parallel tests apart. */
export function randomIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

export function uniqueEmail(tag = "user"): string {
  return `${tag}-${crypto.randomUUID().slice(0, 12)}@example.test`;
}

export async function api(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; ip?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.ip) headers["cf-connecting-ip"] = options.ip;
  return SELF.fetch(`http://x${path}`, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
}

export async function expectError(res: Response, status: number, code?: string): Promise<ErrorBody> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as ErrorBody;
  if (code) expect(body.error.code).toBe(code);
  return body;
}

export async function register(
  email = uniqueEmail(),
  password = PASSWORD,
): Promise<{ id: string; email: string; password: string }> {
  const res = await api("POST", "/api/v1/auth/register", {
    body: { email, password, first_name: "Test", last_name: "User" },
  });
  expect(res.status).toBe(201);
  const { user } = (await res.json()) as { user: { id: string; email: string } };
  return { id: user.id, email: user.email, password };
}

// PASSWORD's Argon2id hash at the environment's parameters, computed once per isolate.
let passwordHash: Promise<string> | undefined;

/**
 * An account written straight to Postgres, with PASSWORD (its one hash shared by every such
 * account), for tests whose subject is not registration: it signs in through the API as a
 * registered one does. Registering through the API costs an Argon2id hash (~0.2 s of the
 * isolate's one thread) per account; registration's own tests use `register`.
 */
export async function account(
  values: Partial<typeof users.$inferInsert> = {},
): Promise<{ id: string; email: string; password: string }> {
  passwordHash ??= hashPassword(PASSWORD, authConfig(env).argon2);
  const email = uniqueEmail();
  const [row] = await withDatabase(env, async (db) =>
    db
      .insert(users)
      .values({ email, passwordHash: await passwordHash!, firstName: "Test", lastName: "User", ...values })
      .returning({ id: users.id }),
  );
  return { id: row!.id, email, password: PASSWORD };
}

export async function login(email: string, password = PASSWORD, ip = randomIp()): Promise<TokenPair> {
  const res = await api("POST", "/api/v1/auth/login", { body: { email, password }, ip });
  expect(res.status).toBe(200);
  return (await res.json()) as TokenPair;
}

/** Every outbox envelope of one user, oldest first. */
export async function eventsOf(userId: string): Promise<EventEnvelope[]> {
  const rows = await withDatabase(env, (db) =>
    db
      .select({ envelope: eventOutbox.envelope })
      .from(eventOutbox)
      .where(
        and(
          eq(eventOutbox.stream, "user-service:events"),
          sql`${eventOutbox.envelope}->>'user_id' = ${userId}`,
        ),
      )
      .orderBy(eventOutbox.id),
  );
  return rows.map((r) => r.envelope as unknown as EventEnvelope);
}

/** The email verification token, as the mailer would read it from the `user.registered` event. */
export async function verificationToken(userId: string): Promise<string> {
  const registered = (await eventsOf(userId)).find((e) => e.type === "user.registered");
  const payload = registered?.payload as { email_verification: { token: string } } | undefined;
  if (!payload) throw new Error(`no user.registered event for ${userId}`);
  return payload.email_verification.token;
}

/** A signed-in account with a verified email (written straight: `account`; registration and verification are journey.test.ts's). */
export async function verifiedUser(): Promise<{
  id: string;
  email: string;
  password: string;
  tokens: TokenPair;
}> {
  const user = await account({ emailVerifiedAt: new Date() });
  return { ...user, tokens: await login(user.email) };
}

export async function auditActionsFor(resourceOrActorId: string): Promise<string[]> {
  const rows = await withDatabase(env, (db) =>
    db
      .select({ action: auditLogs.action })
      .from(auditLogs)
      .where(
        sql`${auditLogs.actorId}::text = ${resourceOrActorId} or ${auditLogs.resourceId} = ${resourceOrActorId}`,
      )
      .orderBy(desc(auditLogs.id)),
  );
  return rows.map((r) => r.action).reverse();
}

/** A request signed with an API key, as a bot sends it. */
export async function signedFetch(
  key: { key: string; secret: string },
  method: string,
  path: string,
  body = "",
): Promise<Response> {
  const timestamp = String(Date.now());
  const headers: Record<string, string> = {
    "x-api-key": key.key,
    "x-api-timestamp": timestamp,
    "x-api-signature": await hmacSha256Hex(key.secret, signaturePayload(timestamp, method, path, body)),
  };
  if (body) headers["content-type"] = "application/json";
  return SELF.fetch(`http://x${path}`, { method, headers, body: body || undefined });
}

/** A new API key of the signed-in user with these permissions (the secret included). */
export async function createApiKey(
  token: string,
  permissions: string[],
): Promise<{ id: string; key: string; secret: string }> {
  const res = await api("POST", "/api/v1/users/me/api-keys", {
    token,
    body: { label: "bot", permissions, current_password: PASSWORD },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { api_key: { id: string; key: string; secret: string } }).api_key;
}

/** Turns 2FA on through the API, as a user with an authenticator app would. */
export async function enableTwoFactor(
  token: string,
): Promise<{ secret: string; recoveryCodes: string[]; heldUntil: string }> {
  const setup = await api("POST", "/api/v1/users/me/2fa/setup", { token });
  expect(setup.status).toBe(200);
  const { secret } = (await setup.json()) as { secret: string };
  const res = await api("POST", "/api/v1/users/me/2fa/enable", {
    token,
    body: { code: totpCode(secret, Date.now()) },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { recovery_codes: string[]; withdrawals_held_until: string };
  return { secret, recoveryCodes: body.recovery_codes, heldUntil: body.withdrawals_held_until };
}

/**
 * A code the server has not seen yet. Codes are single-use per 30 s step, so a test that needs
 * several within one step first forgets the last used step, as if the clock had moved on.
 */
export async function freshTotp(userId: string, secret: string): Promise<string> {
  await withDatabase(env, (db) =>
    db.update(userTotp).set({ lastUsedStep: null }).where(eq(userTotp.userId, userId)),
  );
  return totpCode(secret, Date.now());
}

/** Ends the 24 h withdrawal hold, as if a day had passed. */
export async function endWithdrawalHold(userId: string): Promise<void> {
  await withDatabase(env, (db) =>
    db
      .update(users)
      .set({ withdrawalsHeldUntil: new Date(Date.now() - 1_000) })
      .where(eq(users.id, userId)),
  );
}

/**
 * Runs `attempt` inside one aligned window of `windowMs` (a minute by default): sliding-window
 * counts and verdicts checked exactly must not straddle a window's end (a burst across it counts
 * its first part at less than full weight). An attempt that fails after crossing a window's end
 * runs once more (with its own new users, keys and limit names), then from near a window's
 * start; any other failure is the test's. Waiting up front for room in the minute cost up to
 * 40 s a test.
 */
export async function inOneWindow<T>(attempt: () => Promise<T>, windowMs = 60_000): Promise<T> {
  const window = () => Math.floor(Date.now() / windowMs);
  const started = window();
  try {
    return await attempt();
  } catch (err) {
    if (window() === started) throw err;
    return attempt();
  }
}

/** Calls `probe` until it reports true; fails when that takes `limitMs` or more (a change that must take effect in time). */
export async function within(limitMs: number, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    expect(Date.now() - started, "not in effect in time").toBeLessThan(limitMs);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
