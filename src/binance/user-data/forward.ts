import type { Database } from "../../db/client";
import { describeError, type Logger } from "../../lib/logger";
import type { EventEnvelope } from "../../domain/events/event-outbox";
import { listeningUsers } from "../../../durable-objects/account-stream/listening-users";
import { createRedis } from "../../http/resources";
import { accountStream } from "./account-streams";
import { accountEventsOf, isAccountEvent } from "./events";

/** What the event relay calls with each page it published (src/domain/events/event-outbox.ts). */
export type PublishedEvents = (db: Database, envelopes: readonly EventEnvelope[]) => Promise<void>;

/**
 * The user data stream's producer hook: every committed private event the relay publishes
 * (order changes and fills of every market's settlement, deposits, withdrawals, adjustments)
 * goes, in Binance's shape, to its user's AccountStream object, which holds that user's
 * sockets, for the users with a stream open (the others' events cost one Redis read). Best effort, never in the relay's way: a failure is logged and the page stays
 * published (the stream is a view; the REST queries are the record).
 */
export function forwardToAccountStreams(env: Env, log?: Logger): PublishedEvents {
  return async (db, envelopes) => {
    const theirs = envelopes.filter(isAccountEvent);
    if (theirs.length === 0) return;
    try {
      // Only the users someone is listening for are read for (fail open: all of them).
      const users = [...new Set(theirs.map((e) => e.user_id!))];
      const live = await listeningUsers(createRedis(env), users).catch(() => new Set(users));
      const heard = theirs.filter((e) => live.has(e.user_id!));
      if (heard.length === 0) return;
      const byUser = await accountEventsOf(db, heard);
      await Promise.all([...byUser].map(([userId, events]) => accountStream(env, userId).deliver(events)));
    } catch (err) {
      log?.warn("user data stream events not delivered", describeError(err));
    }
  };
}
