import { sql } from "drizzle-orm";
import { bigserial, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Append-only record of every state-changing action. The application only inserts; the one
 * delete is the retention purge run by the Cron Trigger.
 */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: bigserial("id", { mode: "bigint" }).primaryKey(),
    occurredAt: timestamp("occurred_at", { withTimezone: true }).notNull().defaultNow(),
    /** The user who acted (null for the system, a webhook or an anonymous caller). */
    actorId: uuid("actor_id"),
    actorType: text("actor_type").notNull(),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index("audit_logs_occurred_idx").on(t.occurredAt),
    index("audit_logs_actor_idx").on(t.actorId, t.occurredAt),
    index("audit_logs_resource_idx").on(t.resourceType, t.resourceId),
    // Without the order placements (most rows): a search for them walks audit_logs_occurred_idx,
    // where nearly every row is one.
    index("audit_logs_action_idx")
      .on(t.action, t.occurredAt)
      .where(sql`${t.action} <> 'order.place'`),
  ],
);
