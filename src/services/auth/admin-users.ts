import { and, desc, eq, ilike, isNull, or, sql, type SQL } from "drizzle-orm";
import { countedPage } from "../../db/counted-page";
import { users } from "../../db/schema";
import { conflict, notFound, unprocessable } from "../../lib/errors";
import { recordAudit } from "../../domain/audit-log";
import { forgetUserApiKeys, revokeUserApiKeys } from "./api-keys";
import { lockUser } from "./lock-user";
import { afterCommit, userEvent, type ServiceContext, type UserEventType } from "./context";
import { overwriteSnapshots, tombstoneSessions } from "./session-cache";
import { liveSessionIds, revokeUserSessions } from "./sessions";
import { toUserView, type UserRow, type UserView } from "../../domain/auth/user-view";

export type KycStatus = "pending" | "verified" | "rejected";

export interface UserFilter {
  /** Matches email, first or last name (case-insensitive substring). */
  q?: string;
  role?: "user" | "admin";
  kyc_status?: KycStatus;
  include_deleted?: boolean;
}

export interface Page {
  page: number;
  page_size: number;
}

export interface UserList {
  users: UserView[];
  page: number;
  page_size: number;
  total: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

export async function listUsers(
  ctx: Pick<ServiceContext, "db">,
  filter: UserFilter,
  page: Page,
): Promise<UserList> {
  const conditions: (SQL | undefined)[] = [];
  if (!filter.include_deleted) conditions.push(isNull(users.deletedAt));
  if (filter.role) conditions.push(eq(users.role, filter.role));
  if (filter.kyc_status) conditions.push(eq(users.kycStatus, filter.kyc_status));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q.trim())}%`;
    conditions.push(
      or(
        ilike(users.email, pattern),
        ilike(users.firstName, pattern),
        ilike(users.lastName, pattern),
        ilike(sql`${users.firstName} || ' ' || ${users.lastName}`, pattern),
      ),
    );
  }
  const newestFirst = [desc(users.createdAt), desc(users.id)];
  const { rows, ...counts } = await countedPage(ctx.db, users, and(...conditions), newestFirst, page);
  return { users: rows.map(toUserView), ...counts };
}

/** Any user, deleted ones included (admins see `deleted_at`). */
export async function getUser(ctx: Pick<ServiceContext, "db">, id: string): Promise<UserView> {
  const [row] = await ctx.db.select().from(users).where(eq(users.id, id));
  if (!row) throw notFound("User");
  return toUserView(row);
}

export async function getUserByEmail(ctx: Pick<ServiceContext, "db">, email: string): Promise<UserView> {
  const [row] = await ctx.db
    .select()
    .from(users)
    .where(eq(sql`lower(${users.email})`, email.trim().toLowerCase()));
  if (!row) throw notFound("User");
  return toUserView(row);
}

/**
 * Sets a user's KYC status (a reason is required when rejecting). `actorId` null means the
 * system (e.g. a KYC provider's callback through RPC).
 */
export async function updateKycStatus(
  ctx: ServiceContext,
  id: string,
  status: KycStatus,
  reason: string | null,
  actorId: string | null,
): Promise<UserView> {
  if (status === "rejected" && !reason?.trim()) {
    throw unprocessable("A reason is required when rejecting KYC", undefined, {
      issues: [{ path: "reason", message: "Required when status is rejected", code: "custom" }],
    });
  }
  const trimmed = reason?.trim() || null;
  return changeUser(ctx, id, actorId, {
    set: { kycStatus: status, kycReason: trimmed },
    action: "user.kyc.update",
    event: "user.kyc.updated",
    change: (before) => ({ old_status: before.kycStatus, new_status: status, reason: trimmed }),
  });
}

export type UserStatus = "active" | "banned";

/**
 * Bans or reinstates a user. A ban keeps the sessions (so every credential answers 403
 * ACCOUNT_BANNED rather than looking logged out) and takes effect at once: the cached session
 * snapshots are overwritten, this isolate's copies of the user's API keys dropped (other
 * isolates' within LIVE_KEY_CACHE_MS), and sockets drop their private channels at their next
 * re-check.
 */
export async function setUserStatus(
  ctx: ServiceContext,
  id: string,
  status: UserStatus,
  actorId: string,
): Promise<UserView> {
  if (id === actorId) throw conflict("Administrators cannot change their own account's status");
  return changeUser(ctx, id, actorId, {
    set: { status },
    action: "user.status.update",
    event: "user.status.updated",
    change: (before) => ({ old_status: before.status, new_status: status }),
  });
}

/**
 * One admin change of a live user: the row locked and updated, an audit row and an event in the
 * same transaction, then the cached snapshots of the user's live sessions overwritten.
 */
async function changeUser(
  ctx: ServiceContext,
  id: string,
  actorId: string | null,
  change: {
    set: Partial<typeof users.$inferInsert>;
    action: string;
    event: UserEventType;
    change: (before: UserRow) => Record<string, unknown>;
  },
): Promise<UserView> {
  const row = await ctx.db.transaction(async (tx) => {
    const before = await lockUser(tx, id);
    const [after] = await tx
      .update(users)
      .set({ ...change.set, updatedAt: new Date() })
      .where(eq(users.id, id))
      .returning();
    const details = change.change(before);
    await recordAudit(tx, {
      actorId,
      actorType: actorId ? "admin" : "system",
      action: change.action,
      resourceType: "user",
      resourceId: id,
      details,
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, change.event, id, details);
    return { after: after!, sessionIds: await liveSessionIds(tx, id) };
  });
  const view = toUserView(row.after);
  // This isolate's copies of the user's API keys carry the user as it was (a ban must be seen).
  forgetUserApiKeys(id);
  await afterCommit(ctx, change.action, () => overwriteSnapshots(ctx.redis, row.sessionIds, view));
  return view;
}

/** Soft delete: the row stays (records of account), login is refused, sessions and keys die. */
export async function softDeleteUser(ctx: ServiceContext, id: string, actorId: string): Promise<UserView> {
  if (id === actorId) throw conflict("Administrators cannot delete their own account");
  const row = await ctx.db.transaction(async (tx) => {
    const now = new Date();
    const [deleted] = await tx
      .update(users)
      .set({ deletedAt: now, updatedAt: now })
      .where(and(eq(users.id, id), isNull(users.deletedAt)))
      .returning();
    if (!deleted) throw notFound("User");
    const revokedSessions = await revokeUserSessions(tx, id, "user_deleted");
    const revokedKeys = await revokeUserApiKeys(tx, id, now);
    const details = { revoked_sessions: revokedSessions.length, revoked_api_keys: revokedKeys };
    await recordAudit(tx, {
      actorId,
      actorType: "admin",
      action: "user.delete",
      resourceType: "user",
      resourceId: id,
      details,
      metadata: ctx.metadata,
    });
    await userEvent(tx, ctx, "user.deleted", id, { deleted_by: actorId, ...details });
    return { deleted, revokedSessions };
  });
  forgetUserApiKeys(id);
  await afterCommit(ctx, "delete", () => tombstoneSessions(ctx.redis, row.revokedSessions));
  return toUserView(row.deleted);
}
