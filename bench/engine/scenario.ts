import { pandora, peer, type Subject } from "./adapters";
import { issue4, wide, type Market } from "./markets";
import { FLOOR_RUNS, measurePair, type Figures } from "./measure";
import { generateWorkload } from "./workload";

export const OPERATIONS = 1_000_000;
export const WARMUP = 200_000;
export const SEED = 42;
export const WARMUP_SEED = 7;
/** Paired throughput runs per scenario; the ratio is the median of the pairs' ratios. */
export const PAIRS = 7;
const P99_US = 5;
const P9999_US = 50;

export const steady = issue4("steady book", 0.2);
const thin = issue4("thin book", 0.5);
/** Per scenario: the throughput ratio to reach and whether the latency targets apply. */
export const SCENARIOS: { market: Market; ratio: number; latency: boolean }[] = [
  { market: steady, ratio: 20, latency: true },
  { market: wide, ratio: 15, latency: true },
  { market: thin, ratio: 8, latency: false },
];

/** A target's line and whether it is met. */
export type Target = [name: string, met: boolean];

export const fmt = (n: number, digits = 2): string => n.toFixed(digits);

function row(name: string, f: Figures): string {
  return (
    `${name.padEnd(18)} ${fmt(f.opsPerSecond / 1000, 0).padStart(8)}k ops/s   ` +
    `p50 ${fmt(f.p50)}  p99 ${fmt(f.p99)}  p99.9 ${fmt(f.p999)}  p99.99 ${fmt(f.p9999)}  max ${fmt(f.max, 0)} µs`
  );
}

/** Measures scenario `index` of SCENARIOS, prints its figures and returns its targets. */
export function runScenario(index: number): Target[] {
  const { market, ratio: ratioTarget, latency } = SCENARIOS[index]!;
  const targets: Target[] = [];
  const w = generateWorkload(SEED, OPERATIONS, market);
  const warmup = generateWorkload(WARMUP_SEED, WARMUP, market);
  const { ours, oursFloor, theirs, ratio, ratios, cpuRatio } = measurePair(pandora, peer, warmup, w, PAIRS);
  const a: Subject = pandora();
  const b: Subject = peer();
  for (let i = 0; i < w.length; i++) {
    a.run(w, i);
    b.run(w, i);
  }
  const depth = a.depth();
  const resting = [...depth.bids, ...depth.asks].reduce((sum, [, q]) => sum + q, 0);
  const identical = JSON.stringify(depth) === JSON.stringify(b.depth());
  console.log(
    `\n${market.name} (final book ${depth.bids.length + depth.asks.length} levels, ${resting} lots)`,
  );
  console.log(row("pandora engine", ours));
  console.log(row("nodejs-order-book", theirs));
  console.log(
    `pandora engine's own tail (each operation's minimum over ${FLOOR_RUNS} latency runs; the rest of a run's tail is the machine): p99 ${fmt(oursFloor.p99)}  p99.99 ${fmt(oursFloor.p9999)} µs`,
  );
  console.log(
    `final books identical: ${identical ? "yes" : "NO"}; orders refused: engine ${a.rejected()}, peer ${b.rejected()}`,
  );
  console.log(
    `engine/peer throughput ratio: ${fmt(ratio, 1)} (median of ${PAIRS} pairs; pairs ${ratios.map((x) => fmt(x, 1)).join(" ")}; by thread CPU time ${fmt(cpuRatio, 1)})`,
  );
  targets.push([`${market.name}: books identical, none refused`, identical && a.rejected() === 0]);
  targets.push([
    `${market.name}: throughput >= ${ratioTarget}x peer (${fmt(ratio, 1)}x)`,
    ratio >= ratioTarget,
  ]);
  if (latency) {
    targets.push([`${market.name}: p99 < ${P99_US} µs (${fmt(ours.p99)})`, ours.p99 < P99_US]);
    targets.push([`${market.name}: p99.99 < ${P9999_US} µs (${fmt(ours.p9999)})`, ours.p9999 < P9999_US]);
  }
  return targets;
}
