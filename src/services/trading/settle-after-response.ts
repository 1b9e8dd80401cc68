import type { Context } from "hono";
import { withDatabase } from "../../db/client";
import type { AppEnv } from "../../http/app-env";
import { describeError } from "../../lib/logger";
import { loadMarketRules, orderBook } from "./market-directory";
import { settleMarket } from "./settle-market";

/**
 * Drains the market's settlement outbox after the response is sent (with its own Pool: the
 * request's closes with the response). Whatever this misses, the cron settles.
 */
export function settleAfterResponse(c: Context<AppEnv>, market: string): void {
  const log = c.get("log");
  c.executionCtx.waitUntil(
    withDatabase(c.env, async (db) => {
      const rules = await loadMarketRules(db, market);
      await settleMarket(db, orderBook(c.env, market), rules, { maxBatches: 5 });
    }).catch((err: unknown) => log.warn("settlement deferred to cron", { market, ...describeError(err) })),
  );
}
