import { and, eq, isNull } from "drizzle-orm";
import { users } from "../../db/schema";
import { authConfig } from "../../lib/auth-config";
import { AppError, ErrorCode, notFound } from "../../lib/errors";
import { verifyPassword } from "../../lib/password-hash";
import type { ServiceContext } from "./context";
import type { UserRow } from "../../domain/auth/user-view";

/**
 * A signed-in user re-proves the password before a sensitive change (password change, API key
 * creation, 2FA off): a stolen access token alone is not enough. Missing or wrong → 403.
 */
export async function requireCurrentPassword(
  ctx: Pick<ServiceContext, "db" | "env">,
  userId: string,
  password: string | undefined,
): Promise<UserRow> {
  if (!password) {
    throw new AppError(403, ErrorCode.CURRENT_PASSWORD_REQUIRED, "This change needs the current password");
  }
  const [user] = await ctx.db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)));
  if (!user) throw notFound("User");
  if (!(await verifyPassword(password, user.passwordHash, authConfig(ctx.env).argon2)).ok) {
    throw new AppError(403, ErrorCode.CURRENT_PASSWORD_INCORRECT, "The current password is incorrect");
  }
  return user;
}
