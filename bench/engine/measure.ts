import type { Subject } from "./adapters";
import type { Workload } from "./workload";

export interface Figures {
  opsPerSecond: number;
  /** Per-operation latency in microseconds. */
  p50: number;
  p99: number;
  p999: number;
  p9999: number;
  max: number;
}

/** Whole-run throughput of a fresh subject (no per-operation timers). */
export function throughput(make: () => Subject, w: Workload): number {
  const subject = make();
  const start = performance.now();
  for (let i = 0; i < w.length; i++) subject.run(w, i);
  return (w.length / (performance.now() - start)) * 1000;
}

/** Latency of each operation of a fresh subject, timed with performance.now() (its ~30-60 ns cost included). */
export function latencies(make: () => Subject, w: Workload): Float64Array {
  const subject = make();
  const out = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const start = performance.now();
    subject.run(w, i);
    out[i] = (performance.now() - start) * 1000;
  }
  return out;
}

/**
 * Figures for two subjects on the same workload. Their throughput runs alternate (ours, theirs,
 * ours, ...), so a change in the machine's load during the measurement reaches both medians
 * alike instead of skewing their ratio; then each one's latencies.
 */
export function measurePair(
  ours: () => Subject,
  theirs: () => Subject,
  warmup: Workload,
  w: Workload,
  runs = 3,
): [Figures, Figures] {
  const subjects = [ours, theirs];
  for (const make of subjects) {
    const warm = make();
    for (let i = 0; i < warmup.length; i++) warm.run(warmup, i);
  }
  const rates: number[][] = [[], []];
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < subjects.length; k++) {
      collect();
      rates[k]!.push(throughput(subjects[k]!, w));
    }
  }
  const figures = subjects.map((make, k): Figures => {
    collect();
    const lat = latencies(make, w).sort();
    const at = (q: number): number => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]!;
    return {
      opsPerSecond: rates[k]!.sort((a, b) => a - b)[Math.floor(runs / 2)]!,
      p50: at(0.5),
      p99: at(0.99),
      p999: at(0.999),
      p9999: at(0.9999),
      max: lat[lat.length - 1]!,
    };
  });
  return [figures[0]!, figures[1]!];
}

/**
 * Memory per resting order: growth from nothing to a book of `count` resting orders, counting
 * the JS heap and ArrayBuffer backing stores (typed arrays live outside `heapUsed`). The median
 * of `runs` builds, because V8's own bookkeeping (compiled code, feedback) moves one figure by
 * tens of kilobytes.
 */
export function heapPerOrder(build: (count: number) => unknown, count: number, runs = 3): number {
  const figures = Array.from({ length: runs }, () => {
    collect();
    const before = usedBytes();
    const book = build(count);
    collect();
    const after = usedBytes();
    keep(book);
    keep(undefined);
    return (after - before) / count;
  }).sort((x, y) => x - y);
  return figures[Math.floor(runs / 2)]!;
}

function usedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc (npm run bench:engine)");
  gc();
  gc();
}

/** Holds the last measured book, so it stays reachable until the next call releases it. */
const retained: { value: unknown } = { value: undefined };
function keep(value: unknown): void {
  retained.value = value;
}
