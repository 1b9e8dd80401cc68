import { withDatabase } from "../db/client";
import { createRedis } from "../http/resources";
import { describeError } from "../lib/logger";
import { saveReconciliationStatus } from "../services/metrics/reconciliation-status";
import { countByKind, reconcile, serializeMismatch } from "../services/reconciliation";
import { bookReader } from "../services/trading/book-report";
import type { ScheduledJob } from "./scheduled";

/**
 * Checks the ledger's invariants, the locks, fee income and the order books against Postgres
 * every run; any mismatch is logged as an error (alerting hooks on it).
 */
export const reconcileLedgerJob: ScheduledJob = {
  name: "reconcile-ledger",
  run: (env, log) =>
    withDatabase(env, async (db) => {
      const report = await reconcile(db, { readBook: bookReader(env) });
      const kinds = countByKind(report.mismatches);
      if (!report.ok) {
        log.error("ledger reconciliation mismatch", {
          kinds,
          mismatches: report.mismatches.map(serializeMismatch),
        });
      }
      const status = { ok: report.ok, mismatches: report.mismatches.length, kinds, at: Date.now() };
      env.METRICS?.writeDataPoint({
        blobs: ["reconciliation", report.ok ? "ok" : "mismatch"],
        doubles: [status.mismatches],
      });
      // For the metrics scrape; a Redis outage must not fail the reconciliation itself.
      await saveReconciliationStatus(createRedis(env), status).catch((err: unknown) =>
        log.warn("reconciliation status not saved for the metrics", describeError(err)),
      );
      return {
        ok: report.ok,
        checks: report.checks,
        assets: report.assets.length,
        mismatches: report.mismatches.length,
        kinds,
      };
    }),
};
