import type { Batch } from "./batch";
import { appendJournal } from "./journal";
import type { Candle } from "./market-data/candles";
import { appendOutbox } from "./outbox";
import { writeMeta, type Counters } from "./schema";

/** Recent trades kept for REST and trade snapshots. */
export const RECENT_TRADES = 1000;

/** Writes a batch's rows: a handful of statements whatever the batch size. Call inside `transactionSync`. */
export function persistBatch(
  sql: SqlStorage,
  batch: Batch,
  candles: readonly Candle[],
  counters: Counters,
): void {
  appendJournal(sql, batch.journal);
  if (batch.orders.length) {
    sql.exec(
      `INSERT INTO orders (num, order_id, client_order_id, user_id, result)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
              json_extract(value, '$[3]'), json_extract(value, '$[4]')
       FROM json_each(?)`,
      JSON.stringify(
        batch.orders.map((o) => [o.num, o.orderId, o.clientOrderId, o.userId, JSON.stringify(o.result)]),
      ),
    );
  }
  for (const u of batch.users) sql.exec("INSERT INTO users (num, user_id) VALUES (?, ?)", u.num, u.userId);
  appendOutbox(sql, batch.outbox);
  if (batch.trades.length) {
    sql.exec(
      `INSERT INTO trades (id, ts, price, quantity, taker_side)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
              json_extract(value, '$[3]'), json_extract(value, '$[4]')
       FROM json_each(?)`,
      JSON.stringify(batch.trades.map((t) => [t.id, t.ts, t.price, t.quantity, t.takerSide])),
    );
    sql.exec("DELETE FROM trades WHERE id <= ?", counters.nextTradeId - 1 - RECENT_TRADES);
  }
  if (candles.length) {
    sql.exec(
      `INSERT INTO candles (interval, start, open, high, low, close, volume, trades)
       SELECT json_extract(value, '$.interval'), json_extract(value, '$.start'), json_extract(value, '$.open'),
              json_extract(value, '$.high'), json_extract(value, '$.low'), json_extract(value, '$.close'),
              json_extract(value, '$.volume'), json_extract(value, '$.trades')
       FROM json_each(?)
       WHERE true
       ON CONFLICT (interval, start) DO UPDATE SET high = excluded.high, low = excluded.low,
         close = excluded.close, volume = excluded.volume, trades = excluded.trades`,
      JSON.stringify(candles),
    );
  }
  writeMeta(sql, "counters", counters);
}
