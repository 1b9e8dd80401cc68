import { purgeAuditLogsJob } from "./purge-audit-logs";
import { reconcileLedgerJob } from "./reconcile-ledger";
import { relayEventsJob } from "./relay-events";
import { settleTradingJob } from "./settle-trading";
import type { ScheduledJob } from "./scheduled";

/** The jobs the Cron Trigger runs, in order. Capabilities add theirs here. */
export const scheduledJobs: ScheduledJob[] = [
  settleTradingJob,
  relayEventsJob,
  purgeAuditLogsJob,
  reconcileLedgerJob,
];
