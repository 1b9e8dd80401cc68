import type { Context } from "hono";
import { withDatabase } from "../../db/client";
import type { AppEnv } from "../../http/app-env";
import { createRedis } from "../../http/resources";
import { describeError } from "../../lib/logger";
import { relayOutbox } from "../event-outbox";
import { loadMarketRules, orderBook } from "./market-directory";
import { settleMarket } from "./settle-market";

/**
 * After the response is sent: drain the market's settlement outbox, then relay the events it
 * committed — one Pool for both (the request's closes with the response).
 * Whatever this misses, the cron settles and relays.
 */
export function settleAfterResponse(c: Context<AppEnv>, market: string): void {
  const log = c.get("log");
  c.executionCtx.waitUntil(
    withDatabase(c.env, async (db) => {
      let settled = 0;
      try {
        const rules = await loadMarketRules(db, market);
        settled = (await settleMarket(db, orderBook(c.env, market), rules, { maxBatches: 5, log })).batches;
      } catch (err) {
        log.warn("settlement deferred to cron", { market, ...describeError(err) });
      }
      // Only the settler that committed something relays (relays take turns on a lock, each
      // holding a connection while it waits: one per request would exhaust Postgres).
      if (settled > 0) {
        await relayOutbox(db, createRedis(c.env), 100, { waitForLock: false }).catch((err: unknown) =>
          log.warn("event relay deferred to cron", describeError(err)),
        );
      }
    }).catch(() => {}),
  );
}
