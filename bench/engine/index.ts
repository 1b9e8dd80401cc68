import { OrderBook, Side } from "nodejs-order-book";
import { MatchingEngine } from "../../durable-objects/engine";
import { pandora, peer, type Subject } from "./adapters";
import { heapPerOrder, measure, type Figures } from "./measure";
import { mulberry32 } from "./prng";
import { generateWorkload } from "./workload";

// npm run bench:engine — this engine against nodejs-order-book on the same deterministic workload.
const OPERATIONS = 1_000_000;
const WARMUP = 200_000;
const SEED = 42;
const WARMUP_SEED = 7;
/** Book sizes for the memory figure: a small book, the realistic book of issue 4 (~7,000), the steady book, a large book. */
const HEAP_ORDERS = [1_000, 7_000, 10_000, 100_000];
/** Book sizes at which the heap target (< 150 B per resting order) must hold. */
const HEAP_TARGET_ORDERS = [7_000, 10_000];
const HEAP_TARGET_BYTES = 150;

const fmt = (n: number, digits = 2): string => n.toFixed(digits);

function row(name: string, f: Figures): string {
  return (
    `${name.padEnd(18)} ${fmt(f.opsPerSecond / 1000, 0).padStart(8)}k ops/s   ` +
    `p50 ${fmt(f.p50)}  p99 ${fmt(f.p99)}  p99.9 ${fmt(f.p999)}  p99.99 ${fmt(f.p9999)}  max ${fmt(f.max, 0)} µs`
  );
}

function sameBook(a: Subject, b: Subject): boolean {
  return JSON.stringify(a.depth(1000)) === JSON.stringify(b.depth(1000));
}

function variant(label: string, crossProbability: number): { ours: Figures; theirs: Figures } {
  const w = generateWorkload(SEED, OPERATIONS, crossProbability);
  const warmup = generateWorkload(WARMUP_SEED, WARMUP, crossProbability);
  const ours = measure(pandora, warmup, w);
  const theirs = measure(peer, warmup, w);
  const a = pandora();
  const b = peer();
  for (let i = 0; i < w.length; i++) {
    a.run(w, i);
    b.run(w, i);
  }
  const depth = a.depth(1_000_000);
  const resting = [...depth.bids, ...depth.asks].reduce((sum, [, q]) => sum + q, 0);
  console.log(
    `\n${label} (cross probability ${crossProbability}; final book ${depth.bids.length + depth.asks.length} levels, ${resting} lots)`,
  );
  console.log(row("pandora engine", ours));
  console.log(row("nodejs-order-book", theirs));
  console.log(`final books identical: ${sameBook(a, b) ? "yes" : "NO"}`);
  console.log(`engine/peer throughput ratio: ${fmt(ours.opsPerSecond / theirs.opsPerSecond, 1)}`);
  return { ours, theirs };
}

/** Non-crossing resting orders: bids below 10,000, asks from 10,000, 100 levels, 1,000 users. */
function restingOrder(
  random: () => number,
  i: number,
): { side: number; price: number; quantity: number; user: number } {
  const side = i & 1;
  const offset = Math.floor(random() * 50);
  return {
    side,
    price: side === 0 ? 9_999 - offset : 10_000 + offset,
    quantity: 1 + Math.floor(random() * 100),
    user: 1 + (i % 1000),
  };
}

function heap(orders: number): { ours: number; theirs: number } {
  const ours = heapPerOrder((n) => {
    const random = mulberry32(SEED);
    const engine = new MatchingEngine();
    for (let i = 0; i < n; i++) {
      const o = restingOrder(random, i);
      engine.place({
        orderId: i + 1,
        userId: o.user,
        side: o.side === 0 ? "buy" : "sell",
        type: "limit",
        price: o.price,
        quantity: o.quantity,
      });
      engine.events.clear();
    }
    return engine;
  }, orders);
  const theirs = heapPerOrder((n) => {
    const random = mulberry32(SEED);
    const book = new OrderBook();
    for (let i = 0; i < n; i++) {
      const o = restingOrder(random, i);
      book.limit({
        id: String(i + 1),
        side: o.side === 0 ? Side.BUY : Side.SELL,
        price: o.price,
        size: o.quantity,
      });
    }
    return book;
  }, orders);
  return { ours, theirs };
}

console.log(
  `engine benchmark: ${OPERATIONS.toLocaleString("en")} operations after a ${WARMUP.toLocaleString("en")}-operation warm-up (seed ${SEED}, warm-up seed ${WARMUP_SEED}); throughput median of 3; latency per operation including a performance.now() pair; Node ${process.version}`,
);
const steady = variant("steady book", 0.2);
variant("thin book", 0.5);
console.log("\nheap per resting order (engine created inside the measurement; JS heap plus ArrayBuffers):");
const heaps = new Map<number, number>();
for (const orders of HEAP_ORDERS) {
  const h = heap(orders);
  heaps.set(orders, h.ours);
  const count = orders.toLocaleString("en").padStart(8);
  console.log(`${count} orders: pandora engine ${fmt(h.ours, 1)} B, nodejs-order-book ${fmt(h.theirs, 1)} B`);
}
const heapTargets = HEAP_TARGET_ORDERS.map(
  (orders) =>
    [
      `heap < ${HEAP_TARGET_BYTES} B per resting order (${orders.toLocaleString("en")} book)`,
      heaps.get(orders)! < HEAP_TARGET_BYTES,
    ] as const,
);
const targets = [
  ["throughput >= 10x peer", steady.ours.opsPerSecond >= 10 * steady.theirs.opsPerSecond],
  ["p99 < 5 µs", steady.ours.p99 < 5],
  ["p99.99 < 50 µs", steady.ours.p9999 < 50],
  ...heapTargets,
] as const;
console.log(
  `\ntargets (throughput and latency on the steady book, heap on the built books): ${targets.map(([name, ok]) => `${name}: ${ok ? "met" : "MISSED"}`).join("; ")}`,
);
console.log(`engine/peer throughput ratio: ${fmt(steady.ours.opsPerSecond / steady.theirs.opsPerSecond, 1)}`);
