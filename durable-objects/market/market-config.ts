import type { Market } from "./market";
import { outboxBacklog } from "./outbox";
import type { BookRules } from "../../src/domain/market/market-rules";
import { ActiveRules, rulesProblem } from "./rules";
import { writeMeta } from "./schema";

/**
 * Installs or replaces the market's rules (admin). Refuses unusable rules, a new symbol, and a
 * tick or lot change while orders rest or fills are unsettled (entries written before minor
 * units were carried settle on the grid).
 */
export function installRules(
  sql: SqlStorage,
  market: Market,
  rules: BookRules,
): { ok: true } | { ok: false; message: string } {
  const problem = rulesProblem(rules);
  if (problem) return { ok: false, message: problem };
  const current = market.rules?.book;
  if (current && current.symbol !== rules.symbol) return { ok: false, message: "symbol cannot change" };
  if (
    current &&
    (current.tickSize !== rules.tickSize || current.lotSize !== rules.lotSize) &&
    (market.engine.orderCount > 0 || outboxBacklog(sql) > 0)
  ) {
    return {
      ok: false,
      message: "tick and lot sizes can change only while the book is empty and its fills are settled",
    };
  }
  writeMeta(sql, "rules", rules);
  market.rules = new ActiveRules(rules);
  return { ok: true };
}
