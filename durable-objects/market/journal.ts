import type { Command } from "../engine";
import { insertRows } from "./schema";

export interface JournalEntry {
  seq: number;
  ts: number;
  command: Command;
}

/**
 * Appends commands with consecutive sequence numbers in one statement. Each command goes in as
 * an object: `json_extract` stores it as its JSON text, serialised once with the rows.
 */
export function appendJournal(sql: SqlStorage, entries: readonly JournalEntry[]): void {
  insertRows(
    sql,
    "journal",
    ["seq", "ts", "command"],
    entries.map((e) => [e.seq, e.ts, e.command]),
  );
}

/** Journal entries after `seq`, in order, read in pages so a long tail never sits in memory twice. */
export function* journalAfter(sql: SqlStorage, seq: number, page = 10_000): Generator<JournalEntry> {
  let after = seq;
  for (;;) {
    const rows = sql
      .exec<{ seq: number; ts: number; command: string }>(
        "SELECT seq, ts, command FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
        after,
        page,
      )
      .toArray();
    for (const row of rows) yield { seq: row.seq, ts: row.ts, command: JSON.parse(row.command) as Command };
    if (rows.length < page) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/** Drops entries a snapshot already covers (keeps everything after `seq`). */
export function truncateJournal(sql: SqlStorage, seq: number): void {
  sql.exec("DELETE FROM journal WHERE seq <= ?", seq);
}
