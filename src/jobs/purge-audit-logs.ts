import { withDatabase } from "../db/client";
import { purgeAuditLogs } from "../domain/audit-log";
import type { ScheduledJob } from "./scheduled";

/** Deletes audit entries older than the environment's retention (dev 30, sandbox 90, audit/prod 2555 days). */
export const purgeAuditLogsJob: ScheduledJob = {
  name: "purge-audit-logs",
  run: (env) =>
    withDatabase(env, async (db) => {
      const retentionDays = Number(env.AUDIT_LOG_RETENTION_DAYS);
      if (!Number.isInteger(retentionDays) || retentionDays < 1) {
        throw new Error(
          `AUDIT_LOG_RETENTION_DAYS must be a positive integer, got "${env.AUDIT_LOG_RETENTION_DAYS}"`,
        );
      }
      return { retention_days: retentionDays, purged: await purgeAuditLogs(db, retentionDays) };
    }),
};
