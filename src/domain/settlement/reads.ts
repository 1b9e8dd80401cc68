import { eq, sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { settlementCursors } from "../../db/schema";
import { SettlementEpochError } from "./settlement-errors";
import type { OrderState, OutboxEntry } from "./plan";

/** A market's settlement cursor: the last outbox sequence applied, and whose sequence it is. */
export interface Cursor {
  lastSeq: number;
  /** The order book's epoch (null: not yet recorded, see `settlementCursors.epoch`). */
  epoch: string | null;
}

export async function cursorOf(db: DbExecutor, market: string): Promise<Cursor> {
  const [row] = await db
    .select({ lastSeq: settlementCursors.lastSeq, epoch: settlementCursors.epoch })
    .from(settlementCursors)
    .where(eq(settlementCursors.market, market));
  return { lastSeq: row?.lastSeq ?? 0, epoch: row?.epoch ?? null };
}

/**
 * Locks the market's cursor row for this transaction; null when another settler holds it.
 * `lockBatch` reads the row with the batch; this is its fallback when the row is missing (a
 * market's first batch) or held by another settler.
 */
export async function lockCursor(db: DbExecutor, market: string, wait: boolean): Promise<Cursor | null> {
  const columns = { lastSeq: settlementCursors.lastSeq, epoch: settlementCursors.epoch };
  const select = () =>
    db
      .select(columns)
      .from(settlementCursors)
      .where(eq(settlementCursors.market, market))
      .for("update", wait ? {} : { skipLocked: true });
  const [row] = await select();
  if (row) return row;
  // Missing, or skipped because another settler holds it.
  const [created] = await db
    .insert(settlementCursors)
    .values({ market, lastSeq: 0 })
    .onConflictDoNothing()
    .returning(columns);
  if (created) return created; // ours, and locked: we inserted it
  if (!wait) return null;
  const [again] = await select();
  return again ?? null;
}

/**
 * The epoch of a batch's entries, checked against the cursor's: entries of another epoch come
 * from an object whose storage was reset, and are refused (never taken for settled ones).
 * Entries older than epochs carry none and pass. Returns the epoch to record on the cursor.
 */
export function assertEpoch(market: string, cursor: Cursor, entries: readonly OutboxEntry[]): string | null {
  const epoch = entries.find((e) => e.epoch !== undefined)?.epoch ?? null;
  if (epoch !== null && cursor.epoch !== null && epoch !== cursor.epoch) {
    throw new SettlementEpochError(
      `${market}: outbox epoch ${epoch} is not the cursor's ${cursor.epoch} (the order book's storage was reset)`,
    );
  }
  return epoch;
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
  amend_expires_ms: number | null;
  amend_seq: number | null;
};

export interface LockedBatch {
  cursor: Cursor;
  known: Map<string, OrderState>;
  settled: Set<string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The batch's reads in ONE statement: the market's cursor row locked (another settler holding
 * it → null: busy), the orders the entries name locked in id order, with both legs of every OCO
 * pair among them (one leg's end moves or releases the pair's lock), and which of the entries'
 * trades are settled already (a replay after a lost cursor).
 *
 * `cursor: false` (the retry of a quarantined entry, which the cursor has passed already) locks
 * the orders without the cursor row.
 */
export async function lockBatch(
  tx: DbExecutor,
  market: string,
  entries: readonly OutboxEntry[],
  options: { wait: boolean; cursor: boolean },
): Promise<LockedBatch | null> {
  const ids = new Set<string>();
  for (const e of entries) {
    if (e.kind === "trade") ids.add(e.takerOrderId).add(e.makerOrderId);
    else ids.add(e.orderId);
  }
  const idList = JSON.stringify([...ids].filter((id) => UUID.test(id)));
  const tradeIds = JSON.stringify(entries.flatMap((e) => (e.kind === "trade" ? [e.tradeId] : [])));
  const cursorRow = options.cursor
    ? sql`select last_seq, epoch from settlement_cursors where market = ${market}
          for update ${options.wait ? sql`` : sql`skip locked`}`
    : sql`select 0::bigint as last_seq, null::text as epoch`;
  const read = async () =>
    (
      await tx.execute<{
        cursor: number | null;
        epoch: string | null;
        orders: LockedOrder[];
        settled: string[];
      }>(sql`
        with cursor_row as (${cursorRow}), ids as (
          select value::uuid as id from jsonb_array_elements_text(${idList}::jsonb)
        ), locked_orders as (
          select o.id, o.user_id, o.side, o.status, o.lock_asset, o.locked_amount::text,
            o.consumed_amount::text, o.released_amount::text, o.filled_quantity::text,
            o.filled_quote::text, o.oco_group_id, o.price::text, o.quantity::text, o.amend_id,
            (extract(epoch from o.amend_expires_at) * 1000)::float8 as amend_expires_ms,
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
          (select epoch from cursor_row) as epoch,
          (select coalesce(json_agg(locked_orders), '[]') from locked_orders) as orders,
          (select coalesce(json_agg(trade_id), '[]') from settled) as settled`)
    ).rows[0]!;
  let row = await read();
  if (row.cursor === null) {
    // Busy, or the market's first batch (no cursor row yet): lockCursor tells which.
    if ((await lockCursor(tx, market, options.wait)) === null) return null;
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
        amendExpiresAt: o.amend_expires_ms === null ? null : Number(o.amend_expires_ms),
        amendSeq: o.amend_seq === null ? null : Number(o.amend_seq),
      },
    ]),
  );
  return {
    cursor: { lastSeq: Number(row.cursor), epoch: row.epoch },
    known,
    settled: new Set(row.settled),
  };
}
