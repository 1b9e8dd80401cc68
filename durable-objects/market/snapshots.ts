import type { Counters } from "./schema";
import { truncateJournal } from "./journal";

/** Rows are capped at 2 MB: engine snapshots are stored in chunks below that. */
const CHUNK_BYTES = 1_000_000;
/** Snapshots kept; the journal is kept from the oldest of them on. */
const KEEP = 2;

export interface StoredSnapshot {
  journalSeq: number;
  engine: Uint8Array;
  counters: Counters;
}

export function writeSnapshot(sql: SqlStorage, ts: number, snapshot: StoredSnapshot): void {
  const id = sql.exec<{ id: number }>("SELECT coalesce(max(id), 0) + 1 AS id FROM snapshots").one().id;
  const chunks = Math.max(1, Math.ceil(snapshot.engine.length / CHUNK_BYTES));
  for (let i = 0; i < chunks; i++) {
    const part = snapshot.engine.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
    sql.exec("INSERT INTO snapshot_chunks (snapshot_id, idx, data) VALUES (?, ?, ?)", id, i, part);
  }
  sql.exec(
    "INSERT INTO snapshots (id, journal_seq, ts, state, chunks) VALUES (?, ?, ?, ?, ?)",
    id,
    snapshot.journalSeq,
    ts,
    JSON.stringify(snapshot.counters),
    chunks,
  );
  sql.exec("DELETE FROM snapshot_chunks WHERE snapshot_id <= ?", id - KEEP);
  sql.exec("DELETE FROM snapshots WHERE id <= ?", id - KEEP);
}

/** The journal sequence from which replay must start for the oldest kept snapshot. */
export function oldestSnapshotSeq(sql: SqlStorage): number {
  return sql.exec<{ s: number }>("SELECT coalesce(min(journal_seq), 0) AS s FROM snapshots").one().s;
}

export function latestSnapshotSeq(sql: SqlStorage): number {
  return sql.exec<{ s: number }>("SELECT coalesce(max(journal_seq), 0) AS s FROM snapshots").one().s;
}

export function latestSnapshot(sql: SqlStorage): StoredSnapshot | null {
  const rows = sql
    .exec<{
      id: number;
      journal_seq: number;
      state: string;
      chunks: number;
    }>("SELECT id, journal_seq, state, chunks FROM snapshots ORDER BY id DESC LIMIT 1")
    .toArray();
  const row = rows[0];
  if (!row) return null;
  const parts = sql
    .exec<{ data: ArrayBuffer }>(
      "SELECT data FROM snapshot_chunks WHERE snapshot_id = ? ORDER BY idx",
      row.id,
    )
    .toArray()
    .map((r) => new Uint8Array(r.data));
  if (parts.length !== row.chunks) throw new Error(`snapshot ${row.id} is missing chunks`);
  const engine = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    engine.set(p, offset);
    offset += p.length;
  }
  return { journalSeq: row.journal_seq, engine, counters: JSON.parse(row.state) as Counters };
}

/** Writes a snapshot of the engine and drops the journal the older kept snapshot covers. */
export function snapshotMarket(
  storage: DurableObjectStorage,
  m: { counters: Counters; engine: { snapshot(): Uint8Array } },
): { journalSeq: number } {
  const sql = storage.sql;
  storage.transactionSync(() => {
    writeSnapshot(sql, Date.now(), {
      journalSeq: m.counters.journalSeq,
      engine: m.engine.snapshot(),
      counters: { ...m.counters },
    });
    truncateJournal(sql, oldestSnapshotSeq(sql));
  });
  return { journalSeq: m.counters.journalSeq };
}
