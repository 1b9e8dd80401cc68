import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { sessions, users } from "../../db/schema";
import {
  InvalidAccessToken,
  verifyAccessToken,
  type AccessTokenClaims,
  type JwtEnv,
} from "../../lib/access-token";
import type { UserRow } from "./user-view";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Verifies an access token and loads its user in one query that also requires the token's
 * session to be live (not revoked, not expired) and the user not deleted.
 */
export async function resolveSession(
  db: Database,
  env: JwtEnv,
  token: string,
): Promise<{ user: UserRow; claims: AccessTokenClaims }> {
  const claims = await verifyAccessToken(env, token);
  return { user: await loadSessionUser(db, claims), claims };
}

/** The user of a verified token's live session; throws InvalidAccessToken when it ended. */
export async function loadSessionUser(db: Database, claims: AccessTokenClaims): Promise<UserRow> {
  if (!UUID.test(claims.sub) || !UUID.test(claims.sid)) throw new InvalidAccessToken("bad subject");
  const now = new Date();
  const [user] = await db
    .select()
    .from(users)
    .where(
      and(
        eq(users.id, claims.sub),
        isNull(users.deletedAt),
        sql`exists (${db
          .select({ one: sql`1` })
          .from(sessions)
          .where(
            and(
              eq(sessions.familyId, claims.sid),
              eq(sessions.userId, users.id),
              isNull(sessions.revokedAt),
              gt(sessions.expiresAt, now),
            ),
          )})`,
      ),
    );
  if (!user) throw new InvalidAccessToken("session ended");
  return user;
}
