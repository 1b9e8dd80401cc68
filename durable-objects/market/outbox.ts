import type { OutboxEntry } from "./commands";

/** Settlement outbox: rows are written with the state change and deleted once acknowledged. */
export function appendOutbox(sql: SqlStorage, entries: readonly OutboxEntry[]): void {
  if (entries.length === 0) return;
  sql.exec(
    `INSERT INTO outbox (seq, body)
     SELECT json_extract(value, '$.seq'), value FROM json_each(?)`,
    JSON.stringify(entries),
  );
}

export function readOutbox(sql: SqlStorage, afterSeq: number, limit: number): OutboxEntry[] {
  return sql
    .exec<{ body: string }>("SELECT body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit)
    .toArray()
    .map((row) => JSON.parse(row.body) as OutboxEntry);
}

/** Deletes every row up to and including `uptoSeq`; returns how many went. */
export function ackOutbox(sql: SqlStorage, uptoSeq: number): number {
  return sql.exec("DELETE FROM outbox WHERE seq <= ?", uptoSeq).rowsWritten;
}

export function outboxBacklog(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
}
