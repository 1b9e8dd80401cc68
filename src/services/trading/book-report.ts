import { withTimeout } from "../../lib/with-timeout";
import type { ReadBook } from "../reconciliation";
import { orderBook } from "./market-directory";

/** How long reconciliation waits for one market's book (a silent one is reported, not awaited). */
export const BOOK_REPORT_TIMEOUT_MS = 10_000;

/**
 * Reads a market's book for reconciliation over its object's RPC: the orders it holds live and
 * the orders its unsettled outbox entries name. A book that does not answer in time is reported
 * as `book_unreadable` by the check, and the other markets are checked all the same.
 */
export function bookReader(env: Env): ReadBook {
  return (market) =>
    withTimeout(
      orderBook(env, market).bookReport(),
      BOOK_REPORT_TIMEOUT_MS,
      `the ${market} book did not answer within ${BOOK_REPORT_TIMEOUT_MS} ms`,
    );
}
