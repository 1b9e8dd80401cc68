import { MatchingEngine, type Command, type EngineConfig } from "../engine";
import { journalAfter } from "./journal";
import type { Candle } from "./market-data/candles";
import { EMPTY_COUNTERS, readMeta, writeMeta, type Counters } from "./schema";
import { latestSnapshot } from "./snapshots";

/** The engine's capacity; prices in ticks and quantities in lots must fit it. */
export const ENGINE_CONFIG: EngineConfig = { maxOrders: 1 << 20, initialOrders: 4096 };

const isPlacement = (c: Command): c is Extract<Command, { kind: "place" | "place_oco" }> =>
  c.kind === "place" || c.kind === "place_oco";

/** Order numbers the engine before far levels refused as out of its price window (code 205). */
function placementsRefusedForDistance(sql: SqlStorage): Set<number> {
  const rows = sql
    .exec<{ num: number }>(`SELECT num FROM orders WHERE result LIKE '%"code":"PRICE_OUT_OF_RANGE"%'`)
    .toArray();
  return new Set(rows.map((r) => r.num));
}

/** The counters as stored; a storage without an epoch gets one now (see `Counters.epoch`). */
export function restoreCounters(sql: SqlStorage): Counters {
  const counters = readMeta<Counters>(sql, "counters") ?? { ...EMPTY_COUNTERS };
  if (!counters.epoch) {
    counters.epoch = crypto.randomUUID();
    writeMeta(sql, "counters", counters);
  }
  return counters;
}

/** The engine as the latest snapshot plus the journal after it leave it. */
export function restoreEngine(sql: SqlStorage, counters: Counters): MatchingEngine {
  const snapshot = latestSnapshot(sql);
  const engine = snapshot ? MatchingEngine.restore(snapshot.engine) : new MatchingEngine(ENGINE_CONFIG);
  let seq = snapshot?.journalSeq ?? 0;
  const refusedForDistance = placementsRefusedForDistance(sql);
  for (const entry of journalAfter(sql, seq)) {
    if (entry.seq !== seq + 1) throw new Error(`journal gap after ${seq}`);
    const c = entry.command;
    // The engine once refused far prices (205); today's would take them on replay and rest
    // orders whose locks settlement already released. Those commands stay refused.
    if (!(refusedForDistance.size && isPlacement(c) && refusedForDistance.has(c.orderId))) {
      engine.apply(c);
    }
    engine.events.clear();
    seq = entry.seq;
  }
  if (seq !== counters.journalSeq) {
    throw new Error(`journal ends at ${seq} but the counters say ${counters.journalSeq}`);
  }
  return engine;
}

/** The candles market data needs: the last day of minutes and each interval's latest. */
export function restoreCandles(sql: SqlStorage, now: number): Candle[] {
  return sql
    .exec(
      `SELECT * FROM candles c WHERE (interval = '1m' AND start >= ?)
         OR start = (SELECT max(start) FROM candles d WHERE d.interval = c.interval)`,
      now - 86_400_000 - 60_000,
    )
    .toArray() as unknown as Candle[];
}
