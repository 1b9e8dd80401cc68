import { PgDialect } from "drizzle-orm/pg-core";
import { expect } from "vitest";
import { entriesOf, settlePageCall, type OutboxPages } from "../../../src/domain/settlement/settle-page";

const RULES = { symbol: "X", baseAsset: "B", quoteAsset: "Q", baseDecimals: 8 };

/** The `settle_page` statement (text and parameters) the settler would send for `pages`. */
export const pageStatement = (pages: OutboxPages, afterSeq: number) =>
  new PgDialect().sqlToQuery(settlePageCall(RULES, entriesOf(pages), pages.epoch, false, afterSeq));

/**
 * Pages read for the settler against storage's own read after `afterSeq`: none when storage has
 * none, else the same count, epoch and marks and the very `settle_page` statement (text and
 * parameters). Answers where the read came from.
 */
export function expectSamePages(
  read: OutboxPages | null,
  stored: OutboxPages | null,
  afterSeq: number,
): "none" | "storage" | "memory" {
  if (stored === null) {
    expect(read).toBeNull();
    return "none";
  }
  expect(read).not.toBeNull();
  expect(read!.count).toBe(stored.count);
  expect(read!.epoch).toBe(stored.epoch);
  expect(read!.marks).toEqual(stored.marks);
  expect(pageStatement(read!, afterSeq)).toEqual(pageStatement(stored, afterSeq));
  return typeof read!.pages === "string" ? "storage" : "memory";
}
