import { pandora, peer, type Subject } from "./adapters";
import { heap } from "./heap";
import { issue4, wide, type Market } from "./markets";
import { measurePair, type Figures } from "./measure";
import { snapshotFigures } from "./snapshot-size";
import { generateWorkload } from "./workload";

// npm run bench:engine — this engine against nodejs-order-book on the same deterministic workloads.
const OPERATIONS = 1_000_000;
const WARMUP = 200_000;
const SEED = 42;
const WARMUP_SEED = 7;
/** Paired throughput runs per scenario; the ratio is the median of the pairs' ratios. */
const PAIRS = 7;
/** Book sizes for the memory figures; the target (< 150 B per resting order) holds at 10,000 and 100,000. */
const HEAP_ORDERS = [1_000, 7_000, 10_000, 100_000];
const HEAP_TARGET_ORDERS = [10_000, 100_000];
const HEAP_TARGET_BYTES = 150;
/** The deep book whose snapshot is measured: 1,000,000 orders on 100,000 levels. */
const DEEP_LEVELS = 100_000;
const DEEP_PER_LEVEL = 10;
const RESTORE_TARGET_MS = 500;

const steady = issue4("steady book", 0.2);
const thin = issue4("thin book", 0.5);
/** Per scenario: the throughput ratio to reach and whether the latency targets apply. */
const SCENARIOS: { market: Market; ratio: number; latency: boolean }[] = [
  { market: steady, ratio: 20, latency: true },
  { market: wide, ratio: 15, latency: true },
  { market: thin, ratio: 8, latency: false },
];
const P99_US = 5;
const P9999_US = 50;

const fmt = (n: number, digits = 2): string => n.toFixed(digits);
const targets: [name: string, met: boolean][] = [];

function row(name: string, f: Figures): string {
  return (
    `${name.padEnd(18)} ${fmt(f.opsPerSecond / 1000, 0).padStart(8)}k ops/s   ` +
    `p50 ${fmt(f.p50)}  p99 ${fmt(f.p99)}  p99.9 ${fmt(f.p999)}  p99.99 ${fmt(f.p9999)}  max ${fmt(f.max, 0)} µs`
  );
}

function scenario(market: Market, ratioTarget: number, latency: boolean): void {
  const w = generateWorkload(SEED, OPERATIONS, market);
  const warmup = generateWorkload(WARMUP_SEED, WARMUP, market);
  const { ours, theirs, ratio, ratios, cpuRatio } = measurePair(pandora, peer, warmup, w, PAIRS);
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
}

console.log(
  `engine benchmark: ${OPERATIONS.toLocaleString("en")} operations per scenario after a ${WARMUP.toLocaleString("en")}-operation warm-up (seed ${SEED}, warm-up seed ${WARMUP_SEED}); throughput median of ${PAIRS} runs each, in pairs of back-to-back runs (engine first, then peer first, ...) while a warmed-up instance of each stays alive, the ratio the median of the pairs' ratios; latency per operation including a performance.now() pair; Node ${process.version}`,
);
for (const { market, ratio, latency } of SCENARIOS) scenario(market, ratio, latency);

console.log("\nheap per resting order (engine created inside the measurement; JS heap plus ArrayBuffers):");
for (const market of [steady, wide]) {
  for (const orders of market === steady ? HEAP_ORDERS : HEAP_TARGET_ORDERS) {
    const h = heap(market, orders);
    const count = orders.toLocaleString("en").padStart(8);
    console.log(
      `${market.name.padEnd(12)} ${count} orders: pandora engine ${fmt(h.ours, 1)} B, nodejs-order-book ${fmt(h.theirs, 1)} B`,
    );
    if (HEAP_TARGET_ORDERS.includes(orders)) {
      const name = `${market.name}: < ${HEAP_TARGET_BYTES} B per resting order at ${orders.toLocaleString("en")} (${fmt(h.ours, 1)})`;
      targets.push([name, h.ours < HEAP_TARGET_BYTES]);
    }
  }
}

const deep = snapshotFigures(DEEP_LEVELS, DEEP_PER_LEVEL);
console.log(
  `\nsnapshot of ${deep.orders.toLocaleString("en")} resting orders on ${deep.levels.toLocaleString("en")} levels: ` +
    `${fmt(deep.bytes / 1e6, 1)} MB (${fmt(deep.bytes / deep.orders, 1)} B per order), snapshot ${fmt(deep.snapshotMs, 0)} ms, restore ${fmt(deep.restoreMs, 0)} ms (median of 3)`,
);
targets.push([
  `deep book restores in < ${RESTORE_TARGET_MS} ms (${fmt(deep.restoreMs, 0)})`,
  deep.restoreMs < RESTORE_TARGET_MS,
]);

console.log("\ntargets:");
for (const [name, met] of targets) console.log(`  ${met ? "met   " : "MISSED"} ${name}`);
console.log(`${targets.filter(([, met]) => met).length} of ${targets.length} targets met`);
