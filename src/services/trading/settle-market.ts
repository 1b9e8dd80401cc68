import { eq, sql, type SQL } from "drizzle-orm";
import type { Database, DbExecutor } from "../../db/client";
import { jsonRowsInsert } from "../../db/json-insert";
import { settlementCursors, trades } from "../../db/schema";
import { SYSTEM_METADATA } from "../../http/request-metadata";
import { eventsInsert } from "../event-outbox";
import type { Logger } from "../../lib/logger";
import {
  FEE_INCOME,
  journalEntryStatement,
  userAvailable,
  userLocked,
  type BalanceAfter,
  type JournalEntryColumns,
  type LedgerAccount,
} from "../ledger";
import { balanceUpdates, publishBalances, type BalancePublisher } from "./balance-updates";
import type { MarketRules } from "./market-rules";
import { planSettlement, type Movement, type OrderState, type OutboxEntry } from "./settlement-plan";

/** Outbox entries per Postgres transaction. */
export const SETTLEMENT_BATCH = 200;

export interface SettleOptions {
  /** Test hook: runs after the batch committed and before the outbox is acknowledged. */
  afterCommit?: (lastSeq: number) => Promise<void> | void;
  /**
   * Wait for a concurrent settler instead of leaving the work to it: for a caller that must
   * see its own fills settled before it answers (cancel). Default false.
   */
  wait?: boolean;
  /** Stop after this many batches (the cron drains everything; a request does one or two). */
  maxBatches?: number;
  /**
   * Where to start reading: a cursor this caller committed itself (the object's settler
   * remembers its own). Stale is fine: the batch skips what the cursor row says is settled.
   */
  afterSeq?: number;
  /** Where a failed balance publication is logged (it never fails the settlement). */
  log?: Logger;
}

/**
 * The market's order book as settlement sees it (over RPC, or from inside the object): where
 * the fills come from, and where the balances they leave are shown.
 */
export interface OutboxSource extends BalancePublisher {
  readOutbox(afterSeq: number, limit: number): Promise<{ entries: OutboxEntry[] }>;
  ackOutbox(uptoSeq: number): Promise<unknown>;
}

export interface SettleResult {
  batches: number;
  entries: number;
  trades: number;
  lastSeq: number;
}

const account = (m: Movement): LedgerAccount =>
  m.account === "fees"
    ? FEE_INCOME
    : m.account === "available"
      ? userAvailable(m.userId!)
      : userLocked(m.userId!);

async function cursorOf(db: DbExecutor, market: string): Promise<number> {
  const [row] = await db
    .select({ lastSeq: settlementCursors.lastSeq })
    .from(settlementCursors)
    .where(eq(settlementCursors.market, market));
  return row?.lastSeq ?? 0;
}

/**
 * Locks the market's cursor row for this transaction; null when another settler holds it.
 * `lockBatch` reads the row with the batch; this is its fallback when the row is missing (a
 * market's first batch) or held by another settler.
 */
async function lockCursor(db: DbExecutor, market: string, wait: boolean): Promise<number | null> {
  const select = () =>
    db
      .select({ lastSeq: settlementCursors.lastSeq })
      .from(settlementCursors)
      .where(eq(settlementCursors.market, market))
      .for("update", wait ? {} : { skipLocked: true });
  const [row] = await select();
  if (row) return row.lastSeq;
  // Missing, or skipped because another settler holds it.
  const [created] = await db
    .insert(settlementCursors)
    .values({ market, lastSeq: 0 })
    .onConflictDoNothing()
    .returning({ lastSeq: settlementCursors.lastSeq });
  if (created) return created.lastSeq; // ours, and locked: we inserted it
  if (!wait) return null;
  const [again] = await select();
  return again ? again.lastSeq : null;
}

type LockedOrder = {
  id: string;
  user_id: string;
  side: OrderState["side"];
  status: OrderState["status"];
  lock_asset: string;
  locked_amount: string;
  consumed_amount: string;
  released_amount: string;
  filled_quantity: string;
  filled_quote: string;
  oco_group_id: string | null;
  price: string | null;
  quantity: string | null;
  amend_id: string | null;
  amend_seq: number | null;
};

/**
 * The batch's reads in ONE statement: the market's cursor row locked (another settler holding
 * it → null: busy), the orders the entries name locked in id order, with both legs of every OCO
 * pair among them (one leg's end moves or releases the pair's lock), and which of the entries'
 * trades are settled already (a replay after a lost cursor).
 */
async function lockBatch(
  tx: DbExecutor,
  market: string,
  entries: readonly OutboxEntry[],
  wait: boolean,
): Promise<{ afterSeq: number; known: Map<string, OrderState>; settled: Set<string> } | null> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.kind === "trade") ids.add(e.takerOrderId).add(e.makerOrderId);
    else ids.add(e.orderId);
  }
  const idList = JSON.stringify([...ids].filter(isUuid));
  const tradeIds = JSON.stringify(entries.flatMap((e) => (e.kind === "trade" ? [e.tradeId] : [])));
  const read = async () =>
    (
      await tx.execute<{ cursor: number | null; orders: LockedOrder[]; settled: string[] }>(sql`
        with cursor_row as (
          select last_seq from settlement_cursors where market = ${market}
          for update ${wait ? sql`` : sql`skip locked`}
        ), ids as (
          select value::uuid as id from jsonb_array_elements_text(${idList}::jsonb)
        ), locked_orders as (
          select o.id, o.user_id, o.side, o.status, o.lock_asset, o.locked_amount::text,
            o.consumed_amount::text, o.released_amount::text, o.filled_quantity::text,
            o.filled_quote::text, o.oco_group_id, o.price::text, o.quantity::text, o.amend_id,
            o.amend_seq
          from orders o
          where exists (select 1 from cursor_row)
            and (o.id in (select id from ids) or o.oco_group_id in (
              select g.oco_group_id from orders g
              where g.id in (select id from ids) and g.oco_group_id is not null))
          order by o.id
          for update of o
        ), settled as (
          select trade_id from trades
          where market = ${market} and trade_id in (select jsonb_array_elements_text(${tradeIds}::jsonb))
        )
        select (select last_seq from cursor_row) as cursor,
          (select coalesce(json_agg(locked_orders), '[]') from locked_orders) as orders,
          (select coalesce(json_agg(trade_id), '[]') from settled) as settled`)
    ).rows[0]!;
  let row = await read();
  if (row.cursor === null) {
    // Busy, or the market's first batch (no cursor row yet): lockCursor tells which.
    if ((await lockCursor(tx, market, wait)) === null) return null;
    row = await read();
  }
  const big = (v: string | null) => (v === null ? null : BigInt(v));
  const known = new Map<string, OrderState>(
    row.orders.map((o) => [
      o.id,
      {
        id: o.id,
        userId: o.user_id,
        side: o.side,
        status: o.status,
        lockAsset: o.lock_asset,
        lockedAmount: BigInt(o.locked_amount),
        consumedAmount: BigInt(o.consumed_amount),
        releasedAmount: BigInt(o.released_amount),
        filledQuantity: BigInt(o.filled_quantity),
        filledQuote: BigInt(o.filled_quote),
        ocoGroupId: o.oco_group_id,
        price: big(o.price),
        quantity: big(o.quantity),
        amendId: o.amend_id,
        amendSeq: o.amend_seq === null ? null : Number(o.amend_seq),
      },
    ]),
  );
  return { afterSeq: Number(row.cursor), known, settled: new Set(row.settled) };
}

/**
 * Applies one batch of outbox entries in ONE transaction: the market's cursor row is locked
 * first (another settler holding it → `busy`, nothing done), entries at or below it are skipped, the
 * orders involved are locked in id order, then trades, ledger entries, order states, events and
 * the new cursor are written. Replaying a batch that was applied changes nothing: the cursor
 * skips it, the planner skips trades already in Postgres, and a trade row that could not be
 * inserted (its id settled already) rolls the batch back; ledger (type, reference) is unique
 * besides.
 */
export async function applySettlementBatch(
  db: Database,
  rules: MarketRules,
  entries: readonly OutboxEntry[],
  wait = true,
): Promise<{ lastSeq: number; trades: number; busy: boolean; balances: BalanceAfter[] }> {
  return db.transaction(async (tx) => {
    const locked = await lockBatch(tx, rules.symbol, entries, wait);
    if (locked === null) return { lastSeq: 0, trades: 0, busy: true, balances: [] };
    const { afterSeq, known, settled } = locked;
    const fresh = entries.filter((e) => e.seq > afterSeq);
    if (fresh.length === 0) return { lastSeq: afterSeq, trades: 0, busy: false, balances: [] };
    const plan = planSettlement(rules, fresh, known, afterSeq, settled);

    // All the batch's writes in ONE statement (one round trip while the rows are locked): every
    // order it changed, its events, the cursor, one journal entry for the whole batch (the
    // ledger nets the postings per account, so each user's balance row changes once per batch;
    // the trades table keeps every fill's amounts and fees, the entry's metadata lists what it
    // settles) and the trades, whose `created_at` (the wall clock, not the transaction's start)
    // is "balances updated".
    const writes: SQL[] = [];
    const changed = [...plan.orders.values()];
    if (changed.length > 0) writes.push(sql`settled_orders as (${ordersUpdate(changed)})`);
    const events = plan.events.map((event) => ({
      stream: "trading:events" as const,
      ...event,
      metadata: SYSTEM_METADATA,
    }));
    if (events.length > 0) writes.push(sql`settled_events as (${eventsInsert(events)})`);
    writes.push(
      sql`settled_cursor as (${tx
        .update(settlementCursors)
        .set({ lastSeq: plan.lastSeq, updatedAt: sql`now()` })
        .where(eq(settlementCursors.market, rules.symbol))
        .getSQL()})`,
    );
    const entry =
      plan.entries.length === 0
        ? null
        : journalEntryStatement({
            type: "trade.settlement",
            reference: `${rules.symbol}:${plan.lastSeq}`,
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
      throw new Error(`settlement batch ${rules.symbol}:${plan.lastSeq} repeats a settled trade`);
    }
    let balances: BalanceAfter[] = [];
    if (entry) {
      const posted = await entry.read(tx, result.rows[0]!);
      // The planner only plans what is not yet settled; an existing entry means the two disagree.
      if (!posted.applied) throw new Error(`settlement entry ${rules.symbol}:${plan.lastSeq} already exists`);
      balances = posted.balances;
    }
    return { lastSeq: plan.lastSeq, trades: plan.trades.length, busy: false, balances };
  });
}

/** One UPDATE for every order a batch changed (a busy batch touches hundreds). */
function ordersUpdate(changed: readonly (OrderState & { closedAt: Date | null })[]): SQL {
  const text = (v: bigint | null | undefined) => (v === null || v === undefined ? null : v.toString());
  const rows = changed.map((o) => ({
    id: o.id,
    status: o.status,
    locked: text(o.lockedAmount),
    consumed: text(o.consumedAmount),
    released: text(o.releasedAmount),
    filled_quantity: text(o.filledQuantity),
    filled_quote: text(o.filledQuote),
    // `lockBatch` reads both for every order, so the plan always carries them (null: none).
    price: text(o.price),
    quantity: text(o.quantity),
    amend_id: o.amendId ?? null,
    amend_seq: o.amendSeq ?? null,
    closed_at: o.closedAt?.toISOString() ?? null,
  }));
  return sql`
    update orders o set
      status = v.status::order_status,
      locked_amount = v.locked,
      consumed_amount = v.consumed,
      released_amount = v.released,
      filled_quantity = v.filled_quantity,
      filled_quote = v.filled_quote,
      price = v.price,
      quantity = v.quantity,
      amend_id = v.amend_id,
      amend_seq = v.amend_seq,
      amend_expires_at = case when v.amend_id is null then null else o.amend_expires_at end,
      closed_at = coalesce(v.closed_at, o.closed_at),
      updated_at = now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(
      id uuid, status text, locked numeric, consumed numeric, released numeric,
      filled_quantity numeric, filled_quote numeric,
      price numeric, quantity numeric,
      amend_id uuid, amend_seq bigint, closed_at timestamptz)
    where o.id = v.id`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuid = (id: string) => UUID.test(id);

/**
 * Drains a market's settlement outbox: read a batch after the Postgres cursor, apply it in one
 * transaction, acknowledge it only after commit, until the outbox is empty. A crash before the
 * commit leaves the entries in the outbox; a crash between commit and acknowledgement leaves
 * them too, and the cursor makes their second application a no-op.
 *
 * Concurrent settlers of one market do not queue: one that finds the cursor locked returns at
 * once, because the holder reads the outbox again after its commit and so picks up whatever
 * was appended meanwhile (entries are in the outbox before anyone tries to settle them).
 */
export async function settleMarket(
  db: Database,
  book: OutboxSource,
  rules: MarketRules,
  options: SettleOptions = {},
): Promise<SettleResult> {
  const result: SettleResult = { batches: 0, entries: 0, trades: 0, lastSeq: 0 };
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  // After the first batch the cursor is the one this loop committed (no query per batch).
  let afterSeq = options.afterSeq ?? (await cursorOf(db, rules.symbol));
  while (result.batches < maxBatches) {
    result.lastSeq = afterSeq;
    const { entries } = await book.readOutbox(afterSeq, SETTLEMENT_BATCH);
    if (entries.length === 0) {
      // Anything at or below the cursor that is still there was applied but not acknowledged.
      await book.ackOutbox(afterSeq);
      break;
    }
    const applied = await applySettlementBatch(db, rules, entries, options.wait ?? false);
    if (applied.busy) break;
    await options.afterCommit?.(applied.lastSeq);
    // The balances the batch left go to the users' `balances` sockets, beside the ack (one
    // more call to the same object, no Postgres read: they came back from the ledger's writes).
    await Promise.all([
      book.ackOutbox(applied.lastSeq),
      publishBalances(book, rules.symbol, balanceUpdates(rules, applied.balances), options.log),
    ]);
    result.batches++;
    result.entries += entries.length;
    result.trades += applied.trades;
    result.lastSeq = afterSeq = applied.lastSeq;
  }
  return result;
}
