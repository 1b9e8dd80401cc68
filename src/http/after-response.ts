import type { Context } from "hono";
import { forwardToAccountStreams } from "../binance/user-data/forward";
import { withDatabase } from "../db/client";
import { describeError } from "../lib/logger";
import { relayOutbox } from "../domain/events/event-outbox";
import type { AppEnv } from "./app-env";
import { createRedis } from "./resources";

/**
 * Relays freshly committed outbox events to Redis after the response is sent (and after
 * `work`, when the events come from work done after the response). It opens its own Pool: the
 * request's is closed as soon as the response is ready.
 */
export function relayEventsAfterResponse(c: Context<AppEnv>, work?: Promise<unknown>): void {
  const log = c.get("log");
  c.executionCtx.waitUntil(
    (async () => {
      try {
        await work;
        await withDatabase(c.env, (db) =>
          relayOutbox(db, createRedis(c.env), 100, {
            waitForLock: false,
            onPublished: forwardToAccountStreams(c.env, log),
          }),
        );
      } catch (err) {
        log.warn("event relay deferred to cron", describeError(err));
      }
    })(),
  );
}
