import { purgeAuditLogsJob } from "./purge-audit-logs";
import { reconcileLedgerJob } from "./reconcile-ledger";
import { relayEventsJob } from "./relay-events";
import type { ScheduledJob } from "./scheduled";

/** The jobs the Cron Trigger runs, in order. Capabilities add theirs here. */
export const scheduledJobs: ScheduledJob[] = [relayEventsJob, purgeAuditLogsJob, reconcileLedgerJob];
