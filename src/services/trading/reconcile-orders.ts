import { and, eq, lt } from "drizzle-orm";
import type { Database } from "../../db/client";
import { orders } from "../../db/schema";
import type { OrderLookup } from "../../domain/market/commands";
import { describeError, type Logger } from "../../lib/logger";
import { withTimeout } from "../../lib/with-timeout";
import { loadAllMarketRules, orderBook } from "./market-directory";
import { rejectPlacement } from "./place-order";
import { settleMarket } from "../../domain/settlement/settle-market";

/** A pending order younger than this may still be on its way to the book. */
export const PENDING_GRACE_MS = 30_000;

export interface ReconcileResult {
  markets: number;
  settledEntries: number;
  confirmed: number;
  released: number;
  /** Markets whose settlement failed this run (logged; retried next run). */
  failedMarkets: string[];
  /** Entries quarantined this run (each logged as an error). */
  quarantined: number;
  /** Pending orders whose book could not be asked this run (retried next run). */
  unreachable: number;
}

/**
 * How long one market's settlement, or one question to a book, may take in the cron: an object
 * that does not answer must not hold up the other markets or the stuck orders after it.
 */
export const MARKET_TIMEOUT_MS = 20_000;
export const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * The cron's recovery pass:
 * 1. settle every market's outbox (fills whose after-response settlement did not happen);
 * 2. reconcile orders left `pending` (their placement call's outcome was never learned): ask
 *    the book whether it knows the order. Known and accepted → `new` (its fills arrive through
 *    the outbox); known and refused, or unknown after the grace period → rejected and the
 *    whole lock released.
 * An unknown order is released only after the grace period, when no call can still be in
 * flight (a Worker's request is long over by then).
 */
export async function reconcileTrading(
  env: Env,
  db: Database,
  now = Date.now(),
  log?: Logger,
): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    markets: 0,
    settledEntries: 0,
    confirmed: 0,
    released: 0,
    failedMarkets: [],
    quarantined: 0,
    unreachable: 0,
  };
  const all = await loadAllMarketRules(db);
  for (const rules of all) {
    // One failing market (an unreachable object, an entry that breaks an invariant) must not
    // keep the others or the pending orders below from being settled.
    try {
      const settled = await withTimeout(
        settleMarket(db, orderBook(env, rules.symbol), rules, { log }),
        MARKET_TIMEOUT_MS,
        `settlement of ${rules.symbol} took over ${MARKET_TIMEOUT_MS} ms`,
      );
      result.markets++;
      result.settledEntries += settled.entries;
      result.quarantined += settled.quarantined;
    } catch (err) {
      result.failedMarkets.push(rules.symbol);
      log?.error("settlement of a market failed in the cron", {
        market: rules.symbol,
        ...describeError(err),
      });
    }
  }
  const stale = await db
    .select({ id: orders.id, market: orders.market })
    .from(orders)
    .where(and(eq(orders.status, "pending"), lt(orders.createdAt, new Date(now - PENDING_GRACE_MS))))
    .limit(500);
  for (const order of stale) {
    let lookup: OrderLookup;
    try {
      lookup = await withTimeout(
        orderBook(env, order.market).getOrder({ orderId: order.id }),
        LOOKUP_TIMEOUT_MS,
        `the ${order.market} book did not answer within ${LOOKUP_TIMEOUT_MS} ms`,
      );
    } catch (err) {
      // Its book is unreachable: ask again next run; the other stuck orders go on.
      result.unreachable++;
      log?.warn("a pending order's book could not be asked", {
        market: order.market,
        order_id: order.id,
        ...describeError(err),
      });
      continue;
    }
    if (lookup.known && lookup.placement?.ok) {
      await db
        .update(orders)
        .set({ status: "new", updatedAt: new Date() })
        .where(and(eq(orders.id, order.id), eq(orders.status, "pending")));
      result.confirmed++;
    } else {
      const reason =
        lookup.known && lookup.placement && !lookup.placement.ok
          ? lookup.placement.code
          : "NOT_RECEIVED_BY_BOOK";
      await rejectPlacement(db, order.id, reason);
      result.released++;
    }
  }
  return result;
}
