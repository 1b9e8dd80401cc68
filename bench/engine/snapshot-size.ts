import { MatchingEngine } from "../../durable-objects/engine";

/** Median of `runs` timings of `f` in milliseconds. */
function timed(runs: number, f: () => void): number {
  const ms = Array.from({ length: runs }, () => {
    const start = performance.now();
    f();
    return performance.now() - start;
  }).sort((a, b) => a - b);
  return ms[Math.floor(runs / 2)]!;
}

export interface SnapshotFigures {
  orders: number;
  levels: number;
  bytes: number;
  snapshotMs: number;
  restoreMs: number;
}

/**
 * A deep BTC-like book: `levels` price levels (half bids, half asks; the first 2,000 of a side
 * one tick apart, the rest 50 ticks apart, out to about −27%/+27% of 9,000,000 ticks) of
 * `perLevel` orders each from 1,000 users. Measures the snapshot's size and the median time
 * to take it and to restore it (what a market object does when it wakes).
 */
export function snapshotFigures(levels: number, perLevel: number, runs = 3): SnapshotFigures {
  const mid = 9_000_000;
  const engine = new MatchingEngine();
  let id = 0;
  for (let j = 0; j < levels / 2; j++) {
    const distance = j < 2_000 ? 1 + j : 2_001 + (j - 2_000) * 50;
    for (let k = 0; k < perLevel; k++) {
      for (const side of ["buy", "sell"] as const) {
        id++;
        const price = side === "buy" ? mid - distance : mid + distance;
        engine.place({
          orderId: id,
          userId: 1 + (id % 1000),
          side,
          type: "limit",
          price,
          quantity: 1 + (id % 97),
        });
      }
    }
    engine.events.clear();
  }
  const depth = engine.depth(Number.MAX_SAFE_INTEGER);
  let bytes: Uint8Array = new Uint8Array(0);
  const snapshotMs = timed(runs, () => {
    bytes = engine.snapshot();
  });
  let restored = engine;
  const restoreMs = timed(runs, () => {
    restored = MatchingEngine.restore(bytes);
  });
  if (restored.stateHash() !== engine.stateHash()) throw new Error("the restored deep book differs");
  return {
    orders: engine.orderCount,
    levels: depth.bids.length + depth.asks.length,
    bytes: bytes.length,
    snapshotMs,
    restoreMs,
  };
}
