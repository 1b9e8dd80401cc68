import { eq, sql, type SQL } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { jsonRowsInsert } from "../../db/json-insert";
import { settlementCursors, settlementQuarantine, trades } from "../../db/schema";
import { SYSTEM_METADATA } from "../../http/request-metadata";
import {
  FEE_INCOME,
  journalEntryStatement,
  userAvailable,
  userLocked,
  type BalanceAfter,
  type JournalEntryColumns,
  type LedgerAccount,
} from "../ledger/ledger";
import { eventsInsert } from "../events/event-outbox";
import { bigintJson } from "../ledger/bigint-json";
import type { MarketRules } from "../market/market-rules";
import { SettlementInvariantError } from "./settlement-errors";
import type { Movement, OrderState, QuarantinedEntry, SettlementPlan } from "./plan";

const account = (m: Movement): LedgerAccount =>
  m.account === "fees"
    ? FEE_INCOME
    : m.account === "available"
      ? userAvailable(m.userId!)
      : userLocked(m.userId!);

export interface BatchResult {
  lastSeq: number;
  trades: number;
  busy: boolean;
  balances: BalanceAfter[];
  /** Entries set aside in this batch (their reasons are in `settlement_quarantine` too). */
  quarantined: QuarantinedEntry[];
}

/** A batch that did nothing (spread it and set what differs). */
export const NOTHING: BatchResult = { lastSeq: 0, trades: 0, busy: false, balances: [], quarantined: [] };

export interface PlanWrites {
  /** The journal entry's reference (unique per type): the batch's, or a retry's own. */
  reference: string;
  /** Move the market's cursor to the plan's last sequence (and record the book's epoch). */
  cursor?: { epoch: string | null };
}

/**
 * All of a plan's writes in ONE statement (one round trip while the rows are locked): every
 * order it changed, its events, its quarantined entries, the cursor, one journal entry for the
 * whole plan (the ledger nets the postings per account, so each user's balance row changes
 * once per batch; the trades table keeps every fill's amounts and fees, the entry's metadata
 * lists what it settles) and the trades, whose `created_at` (the wall clock, not the
 * transaction's start) is "balances updated".
 */
export async function writePlan(
  tx: DbExecutor,
  rules: MarketRules,
  plan: SettlementPlan,
  options: PlanWrites,
): Promise<{ balances: BalanceAfter[] }> {
  const writes: SQL[] = [];
  const changed = [...plan.orders.values()];
  if (changed.length > 0) writes.push(sql`settled_orders as (${ordersUpdate(changed)})`);
  const events = plan.events.map((event) => ({
    stream: "trading:events" as const,
    ...event,
    metadata: SYSTEM_METADATA,
  }));
  if (events.length > 0) writes.push(sql`settled_events as (${eventsInsert(events)})`);
  if (plan.quarantined.length > 0) {
    const rows = plan.quarantined.map((q) => ({
      market: rules.symbol,
      seq: q.entry.seq,
      epoch: q.entry.epoch ?? null,
      entry: q.entry,
      reason: q.reason,
    }));
    writes.push(
      sql`settled_quarantine as (${jsonRowsInsert(settlementQuarantine, rows)} on conflict do nothing)`,
    );
  }
  if (options.cursor) {
    writes.push(
      sql`settled_cursor as (${tx
        .update(settlementCursors)
        .set({
          lastSeq: plan.lastSeq,
          epoch: sql`coalesce(${settlementCursors.epoch}, ${options.cursor.epoch}::text)`,
          updatedAt: sql`now()`,
        })
        .where(eq(settlementCursors.market, rules.symbol))
        .getSQL()})`,
    );
  }
  const entry =
    plan.entries.length === 0
      ? null
      : journalEntryStatement({
          type: "trade.settlement",
          reference: options.reference,
          metadata: { entries: plan.entries.map((e) => `${e.type}:${e.reference}`) },
          postings: plan.entries.flatMap((e) =>
            e.movements.map((m) => ({ account: account(m), asset: m.asset, amount: m.amount })),
          ),
        });
  if (entry) writes.push(entry.ctes);
  if (plan.trades.length > 0) {
    writes.push(
      sql`settled_trades as (${jsonRowsInsert(trades, plan.trades, {
        created_at: sql`clock_timestamp()`,
      })} on conflict do nothing returning 1)`,
    );
  }
  if (writes.length === 0) return { balances: [] };
  let result;
  try {
    result = await tx.execute<JournalEntryColumns & { trades_inserted: number }>(
      sql`with ${sql.join(writes, sql`, `)}
        select ${entry ? entry.columns : sql`null as ledger_entry_id`},
          ${plan.trades.length > 0 ? sql`(select count(*)::int from settled_trades)` : sql`0`} as trades_inserted`,
    );
  } catch (err) {
    throw entry ? entry.failure(err) : err;
  }
  // Every fill the plan moved money for must be a new trade row: one that exists already (a
  // repeated trade id) means money would move twice for it, so the whole batch rolls back.
  if (Number(result.rows[0]!.trades_inserted) !== plan.trades.length) {
    throw new SettlementInvariantError(`settlement ${options.reference} repeats a settled trade`);
  }
  if (!entry) return { balances: [] };
  const posted = await entry.read(tx, result.rows[0]!);
  // The planner only plans what is not yet settled; an existing entry means the two disagree.
  if (!posted.applied)
    throw new SettlementInvariantError(`settlement entry ${options.reference} already exists`);
  return { balances: posted.balances };
}

/** One UPDATE for every order a batch changed (a busy batch touches hundreds). */
function ordersUpdate(changed: readonly (OrderState & { closedAt: Date | null })[]): SQL {
  // The states as they are (amounts as decimal strings, the close as ISO time); the columns
  // Postgres reads are named below, the other fields are ignored. `lockBatch` reads price and
  // quantity for every order, so the plan always carries them (null: none).
  const rows = bigintJson(changed);
  return sql`
    update orders o set
      status = v.status::order_status,
      locked_amount = v."lockedAmount",
      consumed_amount = v."consumedAmount",
      released_amount = v."releasedAmount",
      filled_quantity = v."filledQuantity",
      filled_quote = v."filledQuote",
      price = v.price,
      quantity = v.quantity,
      amend_id = v."amendId",
      amend_seq = v."amendSeq",
      amend_expires_at = case when v."amendId" is null then null else o.amend_expires_at end,
      closed_at = coalesce(v."closedAt", o.closed_at),
      updated_at = now()
    from jsonb_to_recordset(${rows}::jsonb) as v(
      id uuid, status text, "lockedAmount" numeric, "consumedAmount" numeric, "releasedAmount" numeric,
      "filledQuantity" numeric, "filledQuote" numeric,
      price numeric, quantity numeric,
      "amendId" uuid, "amendSeq" bigint, "closedAt" timestamptz)
    where o.id = v.id`;
}
