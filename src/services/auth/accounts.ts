import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { emailVerificationTokens, users } from "../../db/schema";
import { PG_UNIQUE_VIOLATION, isPgError } from "../../db/pg-errors";
import { EMAIL_VERIFICATION_TTL_MS, authConfig } from "../../lib/auth-config";
import { AppError, ErrorCode, conflict, notFound } from "../../lib/errors";
import { hashPassword } from "../../lib/password-hash";
import { randomToken, sha256Hex } from "../../lib/secure-random";
import { recordAudit } from "../../domain/audit-log";
import { lockUser } from "./lock-user";
import { afterCommit, userEvent, type ServiceContext } from "./context";
import { overwriteSnapshots } from "./session-cache";
import { liveSessionIds } from "./sessions";
import { normalizeEmail, toUserView, type UserRow, type UserView } from "../../domain/auth/user-view";

export interface RegisterInput {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

/**
 * Creates an account (role `user`, KYC pending, email unverified) and a single-use email
 * verification token, delivered in the `user.registered` event for the mailer (and logged in
 * development). The email is stored lowercase; uniqueness holds regardless of case.
 */
export async function register(ctx: ServiceContext, input: RegisterInput): Promise<UserView> {
  const email = normalizeEmail(input.email);
  const passwordHash = await hashPassword(input.password, authConfig(ctx.env).argon2);
  const verificationToken = randomToken();
  const expiresAt = new Date(Date.now() + EMAIL_VERIFICATION_TTL_MS);
  let user: UserRow;
  try {
    user = await ctx.db.transaction(async (tx) => {
      const [created] = await tx
        .insert(users)
        .values({ email, passwordHash, firstName: input.first_name, lastName: input.last_name })
        .returning();
      const row = created!;
      await tx
        .insert(emailVerificationTokens)
        .values({ userId: row.id, tokenHash: await sha256Hex(verificationToken), expiresAt });
      await recordAudit(tx, {
        actorId: row.id,
        actorType: "user",
        action: "user.register",
        resourceType: "user",
        resourceId: row.id,
        details: { email },
        metadata: ctx.metadata,
      });
      await userEvent(tx, ctx, "user.registered", row.id, {
        email,
        first_name: row.firstName,
        last_name: row.lastName,
        email_verification: { token: verificationToken, expires_at: expiresAt.toISOString() },
      });
      return row;
    });
  } catch (err) {
    if (isPgError(err, PG_UNIQUE_VIOLATION))
      throw conflict("An account with this email already exists", ErrorCode.EMAIL_TAKEN);
    throw err;
  }
  if (ctx.env.ENVIRONMENT === "development") {
    // Local only: no mailer runs in development, so the link is in the log.
    ctx.log.info("email verification token (development only)", {
      user_id: user.id,
      verification_path: `/api/v1/auth/verify-email {"token":"${verificationToken}"}`,
    });
  }
  return toUserView(user);
}

/** Consumes a verification token (single use, unexpired) and marks the email verified. */
export async function verifyEmail(ctx: ServiceContext, token: string): Promise<UserView> {
  const tokenHash = await sha256Hex(token);
  const now = new Date();
  const user = await ctx.db.transaction(async (tx) => {
    const [used] = await tx
      .update(emailVerificationTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(emailVerificationTokens.tokenHash, tokenHash),
          isNull(emailVerificationTokens.usedAt),
          gt(emailVerificationTokens.expiresAt, now),
        ),
      )
      .returning();
    if (!used) return null;
    const [row] = await tx
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: now })
      .where(and(eq(users.id, used.userId), isNull(users.deletedAt)))
      .returning();
    if (!row) return null;
    await recordAudit(tx, {
      actorId: row.id,
      actorType: "user",
      action: "user.email.verify",
      resourceType: "user",
      resourceId: row.id,
      metadata: ctx.metadata,
    });
    return { row, sessionIds: await liveSessionIds(tx, row.id) };
  });
  if (!user) {
    throw new AppError(
      400,
      ErrorCode.INVALID_VERIFICATION_TOKEN,
      "The verification token is invalid, expired or already used",
    );
  }
  const view = toUserView(user.row);
  await afterCommit(ctx, "verify-email", () => overwriteSnapshots(ctx.redis, user.sessionIds, view));
  return view;
}

export async function getActiveUser(ctx: Pick<ServiceContext, "db">, userId: string): Promise<UserRow> {
  const [row] = await ctx.db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)));
  if (!row) throw notFound("User");
  return row;
}

export interface ProfileUpdate {
  first_name?: string;
  last_name?: string;
}

export async function updateProfile(
  ctx: ServiceContext,
  userId: string,
  update: ProfileUpdate,
): Promise<UserView> {
  const row = await ctx.db.transaction(async (tx) => {
    const before = await lockUser(tx, userId);
    const changes: Record<string, { from: string; to: string }> = {};
    if (update.first_name !== undefined && update.first_name !== before.firstName) {
      changes.first_name = { from: before.firstName, to: update.first_name };
    }
    if (update.last_name !== undefined && update.last_name !== before.lastName) {
      changes.last_name = { from: before.lastName, to: update.last_name };
    }
    if (Object.keys(changes).length === 0) return { row: before, sessionIds: [] };
    const [after] = await tx
      .update(users)
      .set({
        firstName: update.first_name ?? before.firstName,
        lastName: update.last_name ?? before.lastName,
        updatedAt: new Date(),
      })
      .where(eq(users.id, userId))
      .returning();
    await recordAudit(tx, {
      actorId: userId,
      actorType: "user",
      action: "user.profile.update",
      resourceType: "user",
      resourceId: userId,
      details: { changes },
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.profile.updated", userId, { changes });
    return { row: after!, sessionIds: await liveSessionIds(tx, userId) };
  });
  const view = toUserView(row.row);
  await afterCommit(ctx, "profile", () => overwriteSnapshots(ctx.redis, row.sessionIds, view));
  return view;
}
