import { withDatabase } from "../db/client";
import { reconcileTrading } from "../services/trading/reconcile-orders";
import type { ScheduledJob } from "./scheduled";

/** Re-drives settlement of every market and reconciles orders stuck in `pending`. */
export const settleTradingJob: ScheduledJob = {
  name: "settle-trading",
  run: (env, log) =>
    withDatabase(env, async (db) => ({ ...(await reconcileTrading(env, db, Date.now(), log)) })),
};
