import type { Database } from "../../db/client";
import { describeError, type Logger } from "../../lib/logger";
import type { EventEnvelope } from "../../domain/events/event-outbox";
import { accountStream } from "./account-streams";
import { accountEventsOf, isAccountEvent } from "./events";

/** What the event relay calls with each page it published (src/domain/events/event-outbox.ts). */
export type PublishedEvents = (db: Database, envelopes: readonly EventEnvelope[]) => Promise<void>;

/**
 * The user data stream's producer hook: every committed private event the relay publishes
 * (order changes and fills of every market's settlement, deposits, withdrawals, adjustments)
 * goes, in Binance's shape, to its user's AccountStream object, which holds that user's
 * sockets. Best effort, never in the relay's way: a failure is logged and the page stays
 * published (the stream is a view; the REST queries are the record).
 */
export function forwardToAccountStreams(env: Env, log?: Logger): PublishedEvents {
  return async (db, envelopes) => {
    if (!envelopes.some(isAccountEvent)) return;
    try {
      const byUser = await accountEventsOf(db, envelopes);
      await Promise.all([...byUser].map(([userId, events]) => accountStream(env, userId).deliver(events)));
    } catch (err) {
      log?.warn("user data stream events not delivered", describeError(err));
    }
  };
}
