import { spawnSync } from "node:child_process";
import { heap } from "./heap";
import { wide } from "./markets";
import { snapshotFigures } from "./snapshot-size";
import {
  fmt,
  OPERATIONS,
  PAIRS,
  runScenario,
  SCENARIOS,
  SEED,
  steady,
  type Target,
  WARMUP,
  WARMUP_SEED,
} from "./scenario";

// npm run bench:engine — this engine against nodejs-order-book on the same deterministic workloads.
/** Book sizes for the memory figures; the target (< 150 B per resting order) holds at 10,000 and 100,000. */
const HEAP_ORDERS = [1_000, 7_000, 10_000, 100_000];
const HEAP_TARGET_ORDERS = [10_000, 100_000];
const HEAP_TARGET_BYTES = 150;
/** The deep book whose snapshot is measured: 1,000,000 orders on 100,000 levels. */
const DEEP_LEVELS = 100_000;
const DEEP_PER_LEVEL = 10;
const RESTORE_TARGET_MS = 500;
/** How a scenario's process is told which scenario to run, and how it hands back its targets. */
const SCENARIO_ARG = "--scenario=";
const TARGETS_LINE = "targets:json ";

const only = process.argv.find((arg) => arg.startsWith(SCENARIO_ARG));
if (only !== undefined) {
  const targets = runScenario(Number(only.slice(SCENARIO_ARG.length)));
  console.log(TARGETS_LINE + JSON.stringify(targets));
} else {
  main();
}

/**
 * Each scenario runs in a fresh Node process: V8 keeps a function's type feedback and inlining
 * decisions for the life of the process, so a scenario measured after others ran code tuned to
 * their workloads (loaded runs, thin book, ratio by thread CPU time: 5.8 after the steady and
 * wide scenarios, 7.5-7.6 alone). A fresh process gives the engine and the peer the same start.
 */
function scenarioInOwnProcess(index: number): Target[] {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1]!, `${SCENARIO_ARG}${index}`],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 24,
    },
  );
  const lines = child.stdout.split("\n");
  const handed = lines.find((line) => line.startsWith(TARGETS_LINE));
  if (child.status !== 0 || handed === undefined) {
    throw new Error(
      `the scenario process of ${SCENARIOS[index]!.market.name} failed (status ${child.status})`,
    );
  }
  process.stdout.write(lines.filter((line) => line !== handed).join("\n"));
  return JSON.parse(handed.slice(TARGETS_LINE.length)) as Target[];
}

function main(): void {
  const targets: Target[] = [];
  console.log(
    `engine benchmark: ${OPERATIONS.toLocaleString("en")} operations per scenario after a ${WARMUP.toLocaleString("en")}-operation warm-up (seed ${SEED}, warm-up seed ${WARMUP_SEED}), each scenario in a fresh Node process; throughput median of ${PAIRS} runs each, in pairs of back-to-back runs (engine first, then peer first, ...) while a warmed-up instance of each stays alive, the ratio the median of the pairs' ratios; latency per operation including a performance.now() pair; Node ${process.version}`,
  );
  SCENARIOS.forEach((_, index) => targets.push(...scenarioInOwnProcess(index)));

  console.log(
    "\nheap per resting order (engine created inside the measurement; JS heap plus ArrayBuffers plus the engine's growable SharedArrayBuffers):",
  );
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
}
