import type { Database } from "../../db/client";
import type { Logger } from "../../lib/logger";
import type { MarketRules } from "../market/market-rules";
import type { OutboxEntry, QuarantinedEntry, SettlementPlan } from "./plan";
import { assertEpoch, lockCursor } from "./reads";
import { NOTHING, writePlan, type BatchResult } from "./writes";

/**
 * Sets one entry aside: the quarantine row and the cursor moved past the entry, in one
 * transaction (so it is quarantined exactly once, and never settled by a later batch too).
 * For an entry whose own transaction Postgres refused; the planner's finds are written with
 * their batch instead.
 */
export async function quarantineEntry(
  db: Database,
  rules: MarketRules,
  entry: OutboxEntry,
  reason: string,
  wait: boolean,
): Promise<BatchResult> {
  return db.transaction(async (tx) => {
    const cursor = await lockCursor(tx, rules.symbol, wait);
    if (cursor === null) return { ...NOTHING, busy: true };
    const epoch = assertEpoch(rules.symbol, cursor, [entry]);
    if (entry.seq <= cursor.lastSeq) return { ...NOTHING, lastSeq: cursor.lastSeq };
    const quarantined: QuarantinedEntry[] = [{ entry, reason }];
    const plan: SettlementPlan = {
      trades: [],
      entries: [],
      orders: new Map(),
      events: [],
      quarantined,
      lastSeq: entry.seq,
    };
    await writePlan(tx, rules, plan, { reference: `${rules.symbol}:${entry.seq}`, cursor: { epoch } });
    return { ...NOTHING, lastSeq: entry.seq, quarantined };
  });
}

/** Each quarantined entry is an error: money the book moved is not in Postgres until a person acts. */
export function logQuarantined(log: Logger, market: string, quarantined: readonly QuarantinedEntry[]): void {
  for (const { entry, reason } of quarantined) {
    log.error("settlement entry quarantined; the market settles on without it", {
      market,
      seq: entry.seq,
      epoch: entry.epoch ?? null,
      entry_kind: entry.kind,
      ...(entry.kind === "trade"
        ? { trade_id: entry.tradeId, order_ids: [entry.takerOrderId, entry.makerOrderId] }
        : { event: entry.event, order_ids: [entry.orderId] }),
      reason,
    });
  }
}
