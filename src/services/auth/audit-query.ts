import { and, desc, eq, gte, lte, type SQL } from "drizzle-orm";
import { countedPage } from "../../db/counted-page";
import { auditLogs } from "../../db/schema";
import type { ServiceContext } from "./context";
import type { Page } from "./admin-users";

export interface AuditFilter {
  actor_id?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  from?: string;
  to?: string;
}

export interface AuditEntryView {
  id: string;
  occurred_at: string;
  actor_id: string | null;
  actor_type: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  ip_address: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

export async function listAuditLogs(
  ctx: Pick<ServiceContext, "db">,
  filter: AuditFilter,
  page: Page,
): Promise<{ entries: AuditEntryView[]; page: number; page_size: number; total: number }> {
  const conditions: (SQL | undefined)[] = [
    filter.actor_id ? eq(auditLogs.actorId, filter.actor_id) : undefined,
    filter.action ? eq(auditLogs.action, filter.action) : undefined,
    filter.resource_type ? eq(auditLogs.resourceType, filter.resource_type) : undefined,
    filter.resource_id ? eq(auditLogs.resourceId, filter.resource_id) : undefined,
    filter.from ? gte(auditLogs.occurredAt, new Date(filter.from)) : undefined,
    filter.to ? lte(auditLogs.occurredAt, new Date(filter.to)) : undefined,
  ];
  const newestFirst = [desc(auditLogs.occurredAt), desc(auditLogs.id)];
  const { rows, ...counts } = await countedPage(ctx.db, auditLogs, and(...conditions), newestFirst, page);
  return {
    entries: rows.map((r) => ({
      id: r.id.toString(),
      occurred_at: r.occurredAt.toISOString(),
      actor_id: r.actorId,
      actor_type: r.actorType,
      action: r.action,
      resource_type: r.resourceType,
      resource_id: r.resourceId,
      ip_address: r.ipAddress,
      user_agent: r.userAgent,
      request_id: r.requestId,
      details: r.details,
    })),
    ...counts,
  };
}
