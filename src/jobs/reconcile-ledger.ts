import { withDatabase } from "../db/client";
import { reconcileLedger, serializeMismatch } from "../services/reconciliation";
import type { ScheduledJob } from "./scheduled";

/** Checks the ledger's invariants every run; any mismatch is logged as an error (alerting hooks on it). */
export const reconcileLedgerJob: ScheduledJob = {
  name: "reconcile-ledger",
  run: (env, log) =>
    withDatabase(env, async (db) => {
      const report = await reconcileLedger(db);
      if (!report.ok) {
        log.error("ledger reconciliation mismatch", {
          mismatches: report.mismatches.map(serializeMismatch),
        });
      }
      return { ok: report.ok, assets: report.assets.length, mismatches: report.mismatches.length };
    }),
};
