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
 * (and the request) committed — one Pool for both (the request's closes with the response).
 * Whatever this misses, the cron settles and relays.
 */
export function settleAfterResponse(c: Context<AppEnv>, market: string): void {
  const log = c.get("log");
  c.executionCtx.waitUntil(
    withDatabase(c.env, async (db) => {
      try {
        const rules = await loadMarketRules(db, market);
        await settleMarket(db, orderBook(c.env, market), rules, { maxBatches: 5 });
      } catch (err) {
        log.warn("settlement deferred to cron", { market, ...describeError(err) });
      }
      await relayOutbox(db, createRedis(c.env)).catch((err: unknown) =>
        log.warn("event relay deferred to cron", describeError(err)),
      );
    }).catch(() => {}),
  );
}
