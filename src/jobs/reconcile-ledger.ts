import { withDatabase } from "../db/client";
import { countByKind, reconcile, serializeMismatch } from "../services/reconciliation";
import type { ScheduledJob } from "./scheduled";

/**
 * Checks the ledger's invariants, the locks and fee income every run (the book check joins
 * once the market object can list its live orders: pass `readBook` to `reconcile`); any
 * mismatch is logged as an error (alerting hooks on it).
 */
export const reconcileLedgerJob: ScheduledJob = {
  name: "reconcile-ledger",
  run: (env, log) =>
    withDatabase(env, async (db) => {
      const report = await reconcile(db);
      const kinds = countByKind(report.mismatches);
      if (!report.ok) {
        log.error("ledger reconciliation mismatch", {
          kinds,
          mismatches: report.mismatches.map(serializeMismatch),
        });
      }
      return {
        ok: report.ok,
        checks: report.checks,
        assets: report.assets.length,
        mismatches: report.mismatches.length,
        kinds,
      };
    }),
};
