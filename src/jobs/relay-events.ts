import { forwardToAccountStreams } from "../binance/user-data/forward";
import { withDatabase } from "../db/client";
import { createRedis } from "../http/resources";
import { relayOutbox } from "../domain/events/event-outbox";
import type { ScheduledJob } from "./scheduled";

/** Publishes whatever the after-commit relay left behind (e.g. while Redis was down). */
export const relayEventsJob: ScheduledJob = {
  name: "relay-events",
  run: (env) =>
    withDatabase(env, async (db) => ({
      ...(await relayOutbox(db, createRedis(env), 1_000, { onPublished: forwardToAccountStreams(env) })),
    })),
};
