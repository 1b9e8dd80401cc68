import { lt } from "drizzle-orm";
import type { Database, DbExecutor } from "../db/client";
import { auditLogs } from "../db/schema";
import type { RequestMetadata } from "../http/request-metadata";
import { redact } from "../lib/redact";

export interface AuditEntry {
  actorId: string | null;
  actorType: "user" | "admin" | "api_key" | "system" | "webhook" | "anonymous";
  /** Dotted verb, e.g. `user.login`, `withdrawal.approve`. */
  action: string;
  resourceType: string;
  resourceId?: string | null;
  details?: Record<string, unknown>;
  metadata: RequestMetadata;
}

/** Appends one entry; pass the transaction of the change so both commit or neither does. */
/** The insert, not yet run: to await, or to embed in a larger statement (order placement). */
export function auditInsert(db: DbExecutor, entry: AuditEntry) {
  return db.insert(auditLogs).values({
    actorId: entry.actorId,
    actorType: entry.actorType,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId ?? null,
    ipAddress: entry.metadata.ipAddress,
    userAgent: entry.metadata.userAgent,
    requestId: entry.metadata.requestId,
    details: redact(entry.details ?? {}) as Record<string, unknown>,
  });
}

export async function recordAudit(db: DbExecutor, entry: AuditEntry): Promise<void> {
  await auditInsert(db, entry);
}

/** The retention purge: the only statement that ever deletes audit rows. */
export async function purgeAuditLogs(db: Database, retentionDays: number, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const deleted = await db
    .delete(auditLogs)
    .where(lt(auditLogs.occurredAt, cutoff))
    .returning({ id: auditLogs.id });
  return deleted.length;
}
