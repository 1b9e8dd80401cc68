import type { Counters } from "./schema";
import { truncateJournal } from "./journal";

/** Rows are capped at 2 MB: engine snapshots are stored in chunks below that. */
const CHUNK_BYTES = 1_000_000;
/** Snapshots kept; the journal is kept from the oldest of them on. */
const KEEP = 2;
/** Orders the engine's snapshot encoder writes per turn (~2-4 ms in workerd at 100k+ orders). */
const SLICE_ORDERS = 5_000;
/** Journal rows (pages of up to a batch each) dropped per turn once a snapshot is written. */
const JOURNAL_ROWS_PER_TURN = 100;

export interface StoredSnapshot {
  journalSeq: number;
  engine: Uint8Array;
  counters: Counters;
}

/**
 * Writes a snapshot's rows a step at a time (one chunk a step): the chunks, then its `snapshots`
 * row with the removal of the rows of snapshots no longer kept, then the removal of chunks no
 * row lists (those, and any an interrupted write left), one a step. A restore reads the latest
 * `snapshots` row and its chunks only, so until that row is written it sees the previous
 * snapshot; a new snapshot's id is past every chunk's, so it never meets an interrupted one's.
 */
export function* snapshotWrites(sql: SqlStorage, ts: number, snapshot: StoredSnapshot): Generator<void> {
  const id = sql
    .exec<{ id: number }>(
      "SELECT max(coalesce((SELECT max(id) FROM snapshots), 0), coalesce((SELECT max(snapshot_id) FROM snapshot_chunks), 0)) + 1 AS id",
    )
    .one().id;
  const chunks = Math.max(1, Math.ceil(snapshot.engine.length / CHUNK_BYTES));
  for (let i = 0; i < chunks; i++) {
    const part = snapshot.engine.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
    sql.exec("INSERT INTO snapshot_chunks (snapshot_id, idx, data) VALUES (?, ?, ?)", id, i, part);
    yield;
  }
  sql.exec(
    "INSERT INTO snapshots (id, journal_seq, ts, state, chunks) VALUES (?, ?, ?, ?, ?)",
    id,
    snapshot.journalSeq,
    ts,
    JSON.stringify(snapshot.counters),
    chunks,
  );
  sql.exec("DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?)", KEEP);
  for (;;) {
    yield;
    const dropped = sql.exec(
      `DELETE FROM snapshot_chunks WHERE rowid IN (SELECT rowid FROM snapshot_chunks
         WHERE snapshot_id NOT IN (SELECT id FROM snapshots) LIMIT 1)`,
    ).rowsWritten;
    if (dropped === 0) return;
  }
}

/** Writes a snapshot's rows at once (see snapshotWrites). */
export function writeSnapshot(sql: SqlStorage, ts: number, snapshot: StoredSnapshot): void {
  for (const _ of snapshotWrites(sql, ts, snapshot));
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

/** A macrotask boundary: the object takes the commands and messages that came in meanwhile. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Writes a snapshot of the engine as it is now and drops the journal the older kept snapshot
 * covers, spread over turns of a few milliseconds each, so the market keeps taking commands
 * (a whole snapshot of 228k orders held the object's thread 130 ms): the engine encodes a copy
 * of its records `slice` orders a turn, then the rows are written a chunk a turn (see
 * snapshotWrites) and the journal dropped `JOURNAL_ROWS_PER_TURN` rows a turn. The caller runs one at a
 * time. A crash part-way leaves the previous snapshot and all the journal after it.
 */
export async function snapshotMarket(
  storage: DurableObjectStorage,
  m: { counters: Counters; engine: { beginSnapshot(slice: number): { step(): boolean; bytes: Uint8Array } } },
  slice = SLICE_ORDERS,
): Promise<{ journalSeq: number }> {
  const sql = storage.sql;
  const counters = { ...m.counters };
  const encoder = m.engine.beginSnapshot(slice);
  while (!encoder.step()) await nextTurn();
  const writes = snapshotWrites(sql, Date.now(), {
    journalSeq: counters.journalSeq,
    engine: encoder.bytes,
    counters,
  });
  for (;;) {
    await nextTurn();
    if (storage.transactionSync(() => writes.next().done)) break;
  }
  const covered = oldestSnapshotSeq(sql);
  do await nextTurn();
  while (truncateJournal(sql, covered, JOURNAL_ROWS_PER_TURN) === JOURNAL_ROWS_PER_TURN);
  return { journalSeq: counters.journalSeq };
}
