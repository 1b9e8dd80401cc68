import type { Command } from "../engine";
import { rowPages } from "./row-pages";

export interface JournalEntry {
  seq: number;
  ts: number;
  command: Command;
}

/**
 * The journal: ONE row per batch (a page), like the outbox. A page's `command` is the JSON
 * array of the batch's commands, `seq` its last entry's sequence (so "after a sequence" and
 * "covered by a snapshot" stay comparisons on the key), `first_seq` its first; its entries are
 * numbered consecutively and share its `ts`. One row and no JSON taken apart by SQLite: a row
 * per entry through `json_each` parsed the array and printed every command again, and cost
 * the object's thread about three times as much per batch.
 *
 * Rows from before pages hold one command each (a JSON object, `first_seq` null): still read.
 */
export function appendJournal(sql: SqlStorage, entries: readonly JournalEntry[]): void {
  const first = entries[0];
  if (!first) return;
  entries.forEach((e, i) => {
    if (e.seq !== first.seq + i || e.ts !== first.ts) throw new Error("journal entries of one batch only");
  });
  // A batch of more commands than a row takes is written as several pages.
  for (const page of rowPages(entries)) {
    sql.exec(
      "INSERT INTO journal (seq, first_seq, ts, command) VALUES (?, ?, ?, ?)",
      page[page.length - 1]!.seq,
      page[0]!.seq,
      first.ts,
      JSON.stringify(page.map((e) => e.command)),
    );
  }
}

/** The page column, added to storage created before pages (called by `createSchema`). */
export function migrateJournal(sql: SqlStorage): void {
  const columns = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('journal')").toArray();
  if (!columns.some((c) => c.name === "first_seq"))
    sql.exec("ALTER TABLE journal ADD COLUMN first_seq INTEGER");
}

type JournalRow = { seq: number; first_seq: number | null; ts: number; command: string };

/**
 * Journal entries after `seq`, in order, read `page` rows at a time so a long tail never sits
 * in memory twice: a row holds up to `ROW_PAGE_ENTRIES` commands, so ten rows are at most 20,000
 * (~7 MB of the largest commands' text; 100 rows were up to 200,000 beside the book being rebuilt,
 * against the isolate's 128 MB). A page that a snapshot covers only in part yields its later
 * entries only.
 */
export function* journalAfter(sql: SqlStorage, seq: number, page = 10): Generator<JournalEntry> {
  let after = seq;
  for (;;) {
    const rows = sql
      .exec<JournalRow>(
        "SELECT seq, first_seq, ts, command FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
        after,
        page,
      )
      .toArray();
    for (const row of rows) {
      const parsed = JSON.parse(row.command) as Command | Command[];
      if (row.first_seq === null) {
        yield { seq: row.seq, ts: row.ts, command: parsed as Command };
        continue;
      }
      const commands = parsed as Command[];
      for (let i = Math.max(0, seq + 1 - row.first_seq); i < commands.length; i++) {
        yield { seq: row.first_seq + i, ts: row.ts, command: commands[i]! };
      }
    }
    if (rows.length < page) return;
    after = rows[rows.length - 1]!.seq;
  }
}

/**
 * Drops what a snapshot already covers (keeps every entry after `seq`: a page it splits stays
 * whole), at most `rows` rows (the oldest; -1: all). Returns how many rows went.
 */
export function truncateJournal(sql: SqlStorage, seq: number, rows = -1): number {
  return sql.exec(
    "DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq <= ? ORDER BY seq LIMIT ?)",
    seq,
    rows,
  ).rowsWritten;
}
