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

/** Latency runs of the engine whose per-operation minimum is its floor (the peer's take ~7 s each, so only ours). */
export const FLOOR_RUNS = 3;

/** Operations per second of one whole run: by the clock, and by this thread's CPU time. */
export interface Rate {
  wall: number;
  cpu: number;
}

/**
 * Whole-run throughput of a fresh subject (no per-operation timers). The thread's CPU time
 * leaves out the time the thread waited for a core, which on a loaded machine is most of the
 * noise; it also leaves out GC work on helper threads, which favours the subject that
 * allocates more (the peer), so its ratio is the stricter one for the engine.
 */
export function throughput(make: () => Subject, w: Workload): Rate {
  const subject = make();
  const cpu = process.threadCpuUsage();
  const start = performance.now();
  for (let i = 0; i < w.length; i++) subject.run(w, i);
  const ms = performance.now() - start;
  const used = process.threadCpuUsage(cpu);
  return { wall: (w.length / ms) * 1000, cpu: (w.length / (used.user + used.system)) * 1e6 };
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
 * Per-operation minimum over `runs` latency runs (`first` is one already measured): a run's
 * slowest operations are mostly the machine's (interrupts, preemption, collections), which
 * rarely hit the same operation twice, so what remains is the subject's own tail (its array
 * growths, window moves, long sweeps).
 */
export function latencyFloor(
  make: () => Subject,
  w: Workload,
  first: Float64Array,
  runs: number,
): Float64Array {
  const floor = Float64Array.from(first);
  for (let r = 1; r < runs; r++) {
    collect();
    const lat = latencies(make, w);
    for (let i = 0; i < lat.length; i++) if (lat[i]! < floor[i]!) floor[i] = lat[i]!;
  }
  return floor.sort();
}

/** Figures for two subjects on one workload, and their throughput ratio run by run. */
export interface PairFigures {
  ours: Figures;
  /** p99 and p99.99 of `ours`' per-operation minimum over FLOOR_RUNS latency runs (see latencyFloor). */
  oursFloor: { p99: number; p9999: number };
  theirs: Figures;
  /** Median of the paired runs' ratios (ours / theirs). */
  ratio: number;
  /** Each pair's ratio, ascending (the spread of `ratio`). */
  ratios: number[];
  /** The same median by thread CPU time (see `throughput`), for loaded machines. */
  cpuRatio: number;
}

/**
 * Figures for two subjects on the same workload, measured alike:
 *
 * - Warm-up: each subject runs `warmup` on an instance that stays alive until the measurement
 *   ends. V8 holds an instance's maps, and the optimized code built on them, only weakly: once
 *   every instance of a kind is garbage, the collection before the next run drops them and
 *   deoptimizes that code (~100 deopts a run), so each timed run used to start cold and pay its
 *   own JIT warm-up, which weighs most on the fastest subject.
 * - Throughput: `pairs` pairs of whole runs on fresh instances, the two runs of a pair back to
 *   back in alternating order (ours first, then theirs first, ...), each after a full collection,
 *   so load drift and GC state reach both alike. The ratio is the median of the pairs' ratios
 *   (each from two adjacent runs), and the pairs' ratios are its spread.
 * - Then each one's latencies, on a fresh instance.
 */
export function measurePair(
  ours: () => Subject,
  theirs: () => Subject,
  warmup: Workload,
  w: Workload,
  pairs: number,
): PairFigures {
  const subjects = [ours, theirs];
  const resident = subjects.map((make) => {
    const warm = make();
    for (let i = 0; i < warmup.length; i++) warm.run(warmup, i);
    return warm;
  });
  const rates: Rate[][] = [[], []];
  for (let r = 0; r < pairs; r++) {
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      collect();
      rates[k]!.push(throughput(subjects[k]!, w));
    }
  }
  const ratiosBy = (of: keyof Rate): number[] => rates[0]!.map((rate, r) => rate[of] / rates[1]![r]![of]);
  const ratios = ratiosBy("wall");
  let first: Float64Array = new Float64Array(0);
  const [a, b] = subjects.map((make, k): Figures => {
    collect();
    const lat = latencies(make, w);
    if (k === 0) first = Float64Array.from(lat);
    lat.sort();
    const at = (q: number): number => quantile(lat, q);
    return {
      opsPerSecond: median(rates[k]!.map((rate) => rate.wall)),
      p50: at(0.5),
      p99: at(0.99),
      p999: at(0.999),
      p9999: at(0.9999),
      max: lat[lat.length - 1]!,
    };
  });
  // After both latency runs, so the figures above are measured exactly as before.
  const floor = latencyFloor(ours, w, first, FLOOR_RUNS);
  keep(resident);
  keep(undefined);
  return {
    ours: a!,
    oursFloor: { p99: quantile(floor, 0.99), p9999: quantile(floor, 0.9999) },
    theirs: b!,
    ratio: median(ratios),
    ratios: ratios.sort((x, y) => x - y),
    cpuRatio: median(ratiosBy("cpu")),
  };
}

/** The `q` quantile of ascending `sorted`. */
function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The median (the lower middle one of an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[(sorted.length - 1) >> 1]!;
}

/**
 * Memory per resting order: growth from nothing to a book of `count` resting orders, counting
 * the JS heap and ArrayBuffer backing stores (typed arrays live outside `heapUsed`), plus
 * `unseen(book)`: memory neither counts, such as growable SharedArrayBuffers. The median of
 * `runs` builds, because V8's own bookkeeping (compiled code, feedback) moves one figure by
 * tens of kilobytes.
 */
export function heapPerOrder<T>(
  build: (count: number) => T,
  count: number,
  unseen: (book: T) => number = () => 0,
  runs = 3,
): number {
  const figures = Array.from({ length: runs }, () => {
    collect();
    const before = usedBytes();
    const book = build(count);
    collect();
    const after = usedBytes() + unseen(book);
    keep(book);
    keep(undefined);
    return (after - before) / count;
  });
  return median(figures);
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
