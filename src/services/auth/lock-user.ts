import { and, eq, isNull } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { users } from "../../db/schema";
import { notFound } from "../../lib/errors";
import type { UserRow } from "../../domain/auth/user-view";

/** The user's row, locked for the rest of the transaction; 404 when missing or deleted. */
export async function lockUser(db: DbExecutor, userId: string): Promise<UserRow> {
  const [user] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletedAt)))
    .for("update");
  if (!user) throw notFound("User");
  return user;
}
