import type { OutboxEntry } from "../../src/domain/market/commands";
import type { OutboxPages } from "../../src/domain/settlement/settle-page";
import type { HeldOutbox } from "./held-outbox";
import { rowPages } from "./row-pages";

/**
 * Settlement outbox: ONE row per flush (a page; several for a flush larger than a page takes),
 * written with the state change and deleted once acknowledged. A page's `body` is the JSON
 * array of its entries as the flush already serialised them, `seq` its last entry's sequence
 * (so "after the cursor" and "acknowledged up to" stay comparisons on the key), `first_seq` and
 * `n` its first sequence and entry count, `ts` its first entry's match time (the lag metric's
 * clock), `epoch` the storage's identity (stamped here, not in memory: the entries also feed the
 * users' sockets, which have no use for it). Settlement reads the pages joined by SQLite
 * (`readOutboxPages`) and parses them once, into `settle_page`'s column arrays.
 *
 * Rows from before pages hold one entry each (a JSON object, `first_seq` null), and rows from
 * before the epoch column carry it in the body: both are still read.
 */
export function appendOutbox(sql: SqlStorage, entries: readonly OutboxEntry[], epoch?: string): void {
  // A flush of more entries than a row takes is written as several pages.
  for (const page of rowPages(entries)) {
    sql.exec(
      "INSERT INTO outbox (seq, first_seq, n, ts, epoch, body) VALUES (?, ?, ?, ?, ?, ?)",
      page[page.length - 1]!.seq,
      page[0]!.seq,
      page.length,
      page[0]!.ts,
      epoch ?? null,
      JSON.stringify(page),
    );
  }
}

/** The page columns, added to storage created before pages (called by `createSchema`). */
export function migrateOutbox(sql: SqlStorage): void {
  const columns = new Set(
    sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('outbox')")
      .toArray()
      .map((c) => c.name),
  );
  for (const [name, type] of [
    ["epoch", "TEXT"],
    ["first_seq", "INTEGER"],
    ["n", "INTEGER"],
    ["ts", "INTEGER"],
  ] as const) {
    if (!columns.has(name)) sql.exec(`ALTER TABLE outbox ADD COLUMN ${name} ${type}`);
  }
  // Counting entries and finding page bounds read this small index, never the pages: a scan of
  // the table itself reads every page's body (1,400 pages of 25 entries: 18 ms to count them).
  sql.exec("CREATE INDEX IF NOT EXISTS outbox_entries ON outbox (seq, n)");
}

type OutboxRow = { seq: number; body: string; epoch: string | null; first_seq: number | null };

function entriesOf(row: OutboxRow): OutboxEntry[] {
  const parsed = JSON.parse(row.body) as OutboxEntry | OutboxEntry[];
  const entries = Array.isArray(parsed) ? parsed : [parsed];
  if (row.epoch !== null) for (const e of entries) e.epoch = row.epoch;
  return entries;
}

/** Up to `limit` entries after `afterSeq`, parsed (RPC readers, tests, the fallback path). */
export function readOutbox(sql: SqlStorage, afterSeq: number, limit: number): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  // Every row holds at least one entry, so `limit` rows always hold enough.
  const rows = sql.exec<OutboxRow>(
    "SELECT seq, body, epoch, first_seq FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
    afterSeq,
    limit,
  );
  for (const row of rows) {
    for (const e of entriesOf(row)) {
      if (e.seq > afterSeq) out.push(e);
      if (out.length === limit) return out;
    }
  }
  return out;
}

type PageRow = { seq: number; ts: number | null; n: number | null; epoch: string | null; body: string };

// Sequences are issued one per entry, so pages ending by afterSeq + maxEntries hold at most
// maxEntries entries after afterSeq (fewer where numbers were skipped).
const PAGES_AFTER = `FROM outbox WHERE seq > ?1 AND seq <= coalesce(
    (SELECT max(seq) FROM outbox WHERE seq > ?1 AND seq <= ?1 + ?2),
    (SELECT min(seq) FROM outbox WHERE seq > ?1))
  ORDER BY seq`;

/**
 * Whole pages after `afterSeq`, at least one and then while they total at most `maxEntries`,
 * joined into one JSON array of entries (each page's text without its brackets: no entry is
 * parsed here, and Postgres parses one flat array); null when there are none, or the range
 * holds rows from before pages or of two epochs (the caller reads entries then). Joined here,
 * not by SQLite: its `substr`/`length` count characters through every body and its
 * `group_concat` copies them once more (0.27 against 0.13 ms for a page of 336 entries).
 * With `held` (the object's own pages in memory) and every page of the range there, the entries
 * themselves instead: no body read, joined or parsed.
 */
export function readOutboxPages(
  sql: SqlStorage,
  afterSeq: number,
  maxEntries: number,
  held?: HeldOutbox,
): OutboxPages | null {
  if (held?.size) {
    const pages = heldPages(sql, afterSeq, maxEntries, held);
    if (pages) return pages;
  }
  const rows = sql
    .exec<PageRow>(`SELECT seq, ts, n, epoch, body ${PAGES_AFTER}`, afterSeq, maxEntries)
    .toArray();
  const epoch = rows[0]?.epoch;
  if (epoch === undefined || epoch === null) return null;
  let count = 0;
  const bodies: string[] = [];
  const marks: { seq: number; ts: number }[] = [];
  for (const row of rows) {
    if (row.n === null || row.ts === null || row.epoch !== epoch) return null;
    count += row.n;
    bodies.push(row.body.slice(1, -1));
    marks.push({ seq: row.seq, ts: row.ts });
  }
  return { pages: `[${bodies.join(",")}]`, count, epoch, marks };
}

/**
 * The same pages from memory, when `held` has every one storage lists (read on the small index
 * alone); null otherwise. Held pages storage no longer has are dropped.
 */
function heldPages(
  sql: SqlStorage,
  afterSeq: number,
  maxEntries: number,
  held: HeldOutbox,
): OutboxPages | null {
  const oldest = sql.exec<{ seq: number | null }>("SELECT min(seq) AS seq FROM outbox").one().seq;
  held.dropBelow(oldest ?? Number.POSITIVE_INFINITY);
  const rows = sql.exec<{ seq: number; n: number | null }>(
    `SELECT seq, n ${PAGES_AFTER}`,
    afterSeq,
    maxEntries,
  );
  let epoch: string | undefined;
  let count = 0;
  const entries: OutboxEntry[] = [];
  const marks: { seq: number; ts: number }[] = [];
  for (const row of rows) {
    const page = row.n === null ? undefined : held.page(row.seq, row.n);
    if (!page || (epoch !== undefined && page.epoch !== epoch)) return null;
    epoch = page.epoch;
    count += page.entries.length;
    for (const e of page.entries) entries.push(e);
    marks.push({ seq: row.seq, ts: page.entries[0]!.ts });
  }
  return epoch === undefined ? null : { pages: entries, count, epoch, marks };
}

/**
 * Deletes every entry up to and including `uptoSeq`; returns how many went. Whole pages go;
 * a page the sequence splits (a caller that settled part of it) keeps only its later entries.
 */
export function ackOutbox(sql: SqlStorage, uptoSeq: number): number {
  const whole = sql
    .exec<{ n: number }>("SELECT coalesce(sum(coalesce(n, 1)), 0) AS n FROM outbox WHERE seq <= ?", uptoSeq)
    .one().n;
  if (whole > 0) sql.exec("DELETE FROM outbox WHERE seq <= ?", uptoSeq);
  const split = sql
    .exec<OutboxRow & { n: number }>(
      "SELECT seq, body, epoch, first_seq, n FROM outbox WHERE seq > ? AND first_seq <= ? ORDER BY seq LIMIT 1",
      uptoSeq,
      uptoSeq,
    )
    .toArray()[0];
  if (!split) return whole;
  const kept = (JSON.parse(split.body) as OutboxEntry[]).filter((e) => e.seq > uptoSeq);
  sql.exec(
    "UPDATE outbox SET body = ?, first_seq = ?, n = ?, ts = ? WHERE seq = ?",
    JSON.stringify(kept),
    kept[0]!.seq,
    kept.length,
    kept[0]!.ts,
    split.seq,
  );
  return whole + split.n - kept.length;
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
      `WITH e AS (
         SELECT j.value AS body FROM outbox, json_each(CASE WHEN first_seq IS NULL
           THEN json_array(json(outbox.body)) ELSE outbox.body END) AS j)
       SELECT DISTINCT id FROM (
         SELECT json_extract(body, '$.orderId') AS id FROM e
         UNION ALL SELECT json_extract(body, '$.takerOrderId') FROM e
         UNION ALL SELECT json_extract(body, '$.makerOrderId') FROM e)
       WHERE id IS NOT NULL`,
    )
    .toArray()
    .map((r) => r.id);
}

/** Whether any entry waits for settlement: one row read, whatever the backlog (unlike counting). */
export function outboxWaiting(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM outbox LIMIT 1").toArray().length > 0;
}

/**
 * Entries not yet acknowledged: those after `after` (acknowledged, not yet deleted: ./outbox-acks.ts).
 * Counted on the small index; a page `after` splits counts only its later entries.
 */
export function outboxBacklog(sql: SqlStorage, after = 0): number {
  const whole = sql
    .exec<{ n: number }>("SELECT coalesce(sum(coalesce(n, 1)), 0) AS n FROM outbox WHERE seq > ?", after)
    .one().n;
  const split = sql
    .exec<{ first_seq: number | null }>(
      "SELECT first_seq FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1",
      after,
    )
    .toArray()[0];
  return split?.first_seq != null && split.first_seq <= after ? whole - (after - split.first_seq + 1) : whole;
}
