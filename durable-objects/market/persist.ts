import type { CommandResult } from "../../src/domain/market/commands";
import type { Batch, BookOrderRow } from "./batch";
import { appendJournal } from "./journal";
import type { Candle } from "./market-data/candles";
import { appendOutbox } from "./outbox";
import { insertRows, writeMeta, type Counters } from "./schema";

/** Recent trades kept for REST and trade snapshots. */
export const RECENT_TRADES = 1000;
const PRUNE_EVERY = 100;

/**
 * What a placement's row keeps of its result: all of it, unless it is never replayed (`Replay`).
 * An object, not a string: it travels inside the rows' one JSON parameter and `json_extract`
 * stores it as JSON text, so it is serialised once, not once alone and again escaped.
 */
function storedResult(o: BookOrderRow): CommandResult | typeof ACCEPTED {
  return o.replay === "none" && o.result.ok ? ACCEPTED : o.result;
}
const ACCEPTED = { ok: true } as const;

/** Writes a batch's rows: a handful of statements whatever the batch size. Call inside `transactionSync`. */
export function persistBatch(
  sql: SqlStorage,
  batch: Batch,
  candles: readonly Candle[],
  counters: Counters,
): void {
  appendJournal(sql, batch.journal);
  insertRows(
    sql,
    "orders",
    ["num", "order_id", "client_order_id", "user_id", "result"],
    batch.orders.map((o) => [o.num, o.orderId, o.clientOrderId, o.userId, storedResult(o)]),
  );
  insertRows(
    sql,
    "users",
    ["num", "user_id"],
    batch.users.map((u) => [u.num, u.userId]),
  );
  appendOutbox(sql, batch.outbox, counters.epoch);
  if (batch.trades.length) {
    insertRows(
      sql,
      "trades",
      ["id", "ts", "price", "quantity", "taker_side"],
      batch.trades.map((t) => [t.id, t.ts, t.price, t.quantity, t.takerSide]),
    );
    // Prune in steps of PRUNE_EVERY trades, not on every batch: fewer pages written per commit.
    const first = batch.trades[0]!.id;
    const last = batch.trades[batch.trades.length - 1]!.id;
    if (Math.floor(first / PRUNE_EVERY) !== Math.floor(last / PRUNE_EVERY) || first % PRUNE_EVERY === 0) {
      sql.exec("DELETE FROM trades WHERE id <= ?", last - RECENT_TRADES);
    }
  }
  insertRows(
    sql,
    "candles",
    ["interval", "start", "open", "high", "low", "close", "volume", "trades"],
    candles.map((c) => [c.interval, c.start, c.open, c.high, c.low, c.close, c.volume, c.trades]),
    `ON CONFLICT (interval, start) DO UPDATE SET high = excluded.high, low = excluded.low,
       close = excluded.close, volume = excluded.volume, trades = excluded.trades`,
  );
  writeMeta(sql, "counters", counters);
}
