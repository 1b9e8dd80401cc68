import type { OutboxEntry } from "../../src/domain/market/commands";

/**
 * Settlement outbox: rows are written with the state change and deleted once acknowledged.
 * Each row carries the storage's `epoch` (stamped here, not in memory: the entries also feed
 * the users' sockets, which have no use for it), in a column of its own rather than rewritten
 * into each body (rows from before the column carry it in the body).
 */
export function appendOutbox(sql: SqlStorage, entries: readonly OutboxEntry[], epoch?: string): void {
  if (entries.length === 0) return;
  sql.exec(
    `INSERT INTO outbox (seq, body, epoch) SELECT json_extract(value, '$.seq'), value, ?1 FROM json_each(?2)`,
    epoch ?? null,
    JSON.stringify(entries),
  );
}

export function readOutbox(sql: SqlStorage, afterSeq: number, limit: number): OutboxEntry[] {
  return sql
    .exec<{ body: string; epoch: string | null }>(
      "SELECT body, epoch FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
      afterSeq,
      limit,
    )
    .toArray()
    .map((row) => {
      const entry = JSON.parse(row.body) as OutboxEntry;
      if (row.epoch !== null) entry.epoch = row.epoch;
      return entry;
    });
}

/** Deletes every row up to and including `uptoSeq`; returns how many went. */
export function ackOutbox(sql: SqlStorage, uptoSeq: number): number {
  return sql.exec("DELETE FROM outbox WHERE seq <= ?", uptoSeq).rowsWritten;
}

/**
 * An acknowledgement from settlement, honoured only when it is for this storage's epoch (or
 * names none: a caller older than epochs): a settler that counted another storage's sequence
 * must never delete this one's entries.
 */
export function ackOutboxOf(
  sql: SqlStorage,
  uptoSeq: number,
  ackEpoch: string | undefined,
  epoch: string,
): number {
  if (ackEpoch !== undefined && ackEpoch !== epoch) return 0;
  return ackOutbox(sql, uptoSeq);
}

/** The order ids the unsettled entries name (both sides of a trade), for reconciliation. */
export function outboxOrderIds(sql: SqlStorage): string[] {
  return sql
    .exec<{ id: string }>(
      `SELECT DISTINCT id FROM (
         SELECT json_extract(body, '$.orderId') AS id FROM outbox
         UNION ALL SELECT json_extract(body, '$.takerOrderId') FROM outbox
         UNION ALL SELECT json_extract(body, '$.makerOrderId') FROM outbox)
       WHERE id IS NOT NULL`,
    )
    .toArray()
    .map((r) => r.id);
}

export function outboxBacklog(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
}
