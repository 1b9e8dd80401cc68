import type { Command } from "../engine";

export interface JournalEntry {
  seq: number;
  ts: number;
  command: Command;
}

/**
 * Appends one batch's commands (consecutive sequence numbers, one timestamp) in one statement:
 * the commands go in as one JSON array whose elements `json_each` yields as their JSON text,
 * each parsed once (a row array per entry, taken apart by `json_extract` per column, parsed each
 * entry three times and wrote the command out again: twice the cost per order).
 */
export function appendJournal(sql: SqlStorage, entries: readonly JournalEntry[]): void {
  const first = entries[0];
  if (!first) return;
  entries.forEach((e, i) => {
    if (e.seq !== first.seq + i || e.ts !== first.ts) throw new Error("journal entries of one batch only");
  });
  sql.exec(
    "INSERT INTO journal (seq, ts, command) SELECT ? + key, ?, value FROM json_each(?)",
    first.seq,
    first.ts,
    JSON.stringify(entries.map((e) => e.command)),
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
