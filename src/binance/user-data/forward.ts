import { describeError, type Logger } from "../../lib/logger";
import type { OnPublished } from "../../domain/events/event-outbox";
import { listeningUsers } from "../../../durable-objects/account-stream/listening-users";
import { createRedis } from "../../http/resources";
import { accountStream } from "./account-streams";
import { accountEventsOf, isAccountEvent, isAccountType } from "./events";

/**
 * The user data stream's producer hook: every committed private event the relay publishes
 * (order changes and fills of every market's settlement, deposits, withdrawals, adjustments)
 * goes, in Binance's shape, to its user's AccountStream object, which holds that user's
 * sockets, for the users with a stream open: the others' events cost one Redis read, and are
 * never built (a settled page's envelopes exist only in Redis, published-events.ts). Best
 * effort, never in the relay's way: a failure is logged and the page stays published (the
 * stream is a view; the REST queries are the record).
 */
export function forwardToAccountStreams(env: Env, log?: Logger): OnPublished {
  return async (db, published) => {
    try {
      // Only the users someone is listening for are read for (fail open: all of them).
      const users = [...published.users(isAccountType)];
      if (users.length === 0) return;
      const live = await listeningUsers(createRedis(env), users).catch(() => new Set(users));
      if (live.size === 0) return;
      const heard = published.envelopes(live).filter(isAccountEvent);
      if (heard.length === 0) return;
      const byUser = await accountEventsOf(db, heard);
      await Promise.all([...byUser].map(([userId, events]) => accountStream(env, userId).deliver(events)));
    } catch (err) {
      log?.warn("user data stream events not delivered", describeError(err));
    }
  };
}
