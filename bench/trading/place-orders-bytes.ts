// `node --expose-gc --max-semi-space-size=512 --min-semi-space-size=512 --import tsx bench/trading/place-orders-bytes.ts`:
// what building and serialising ONE funds lock costs the market object's thread, per order: the
// arguments (durable-objects/market/funds-locker.ts `lockQuery`) and the driver's messages for
// them (durable-objects/market/line-statement.ts: Parse, Bind, Describe, Execute, Sync in one
// frame), flushes of BENCH_SIZES placements (default 25,50,125,250; socket frames of 25, over 20
// users, ./place-orders-placement.ts). No Postgres, no Worker. The driver writes strings through
// the runtime's Buffer, native in Node as in workerd (node-internal:internal_buffer in its
// profiles; without one it would take its bundled Buffer, which writes a string through a JS
// array of its bytes: BENCH_BUNDLED_BUFFER=1 shows that).
//
// Bytes: JS heap and ArrayBuffers allocated per order (a window with no GC: the flags above give
// the young generation room; a GC in it is reported), and the sampled JS heap allocations by
// function (BENCH_BY_FUNCTION=1). Node's heap has no pointer compression: a JS array's elements
// take 8 bytes here, 4 in workerd. CPU: µs per order over BENCH_REPEAT calls.
import { Session } from "node:inspector/promises";
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import type { PlacementFunding } from "../../src/domain/market/commands";
import { benchPlacement, FENCE } from "./place-orders-placement";

const SIZES = (process.env.BENCH_SIZES ?? "25,50,125,250").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 2000);
const BY_FUNCTION = process.env.BENCH_BY_FUNCTION === "1";
const USERS = Array.from(
  { length: 20 },
  (_, k) => `0190a000-0000-7000-8000-${String(k + 1).padStart(12, "0")}`,
);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc (see the header)");

const nodeBuffer = globalThis.Buffer;
if (process.env.BENCH_BUNDLED_BUFFER === "1") delete (globalThis as { Buffer?: unknown }).Buffer;
const { Client } = await import("@neondatabase/serverless");
globalThis.Buffer = nodeBuffer;
const { LineStatement } = await import("../../durable-objects/market/line-statement");
const { lockQuery } = await import("../../durable-objects/market/funds-locker");

const connection = new Client({ connectionString: "postgres://bench@localhost/bench" }).connection;
let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ["gc"] });

const flush = (size: number, from: number): PlacementFunding[] =>
  Array.from({ length: size }, (_, i) => benchPlacement(USERS[(from + i) % USERS.length]!, from + i));
const build = (placements: PlacementFunding[]) => lockQuery(placements, { ...FENCE });
const serialise = (q: ReturnType<typeof build>) => new LineStatement({ text: q.text }, q.values, connection);

/** JS heap and ArrayBuffer bytes `fn` allocates over `flushes` (no GC in between). */
async function allocated(flushes: PlacementFunding[][], fn: (p: PlacementFunding[]) => unknown) {
  gc!();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = gcs;
  const keep: unknown[] = [];
  const h0 = v8.getHeapStatistics().used_heap_size;
  const a0 = process.memoryUsage().arrayBuffers;
  for (const p of flushes) keep.push(fn(p));
  const heap = v8.getHeapStatistics().used_heap_size - h0;
  const buffers = process.memoryUsage().arrayBuffers - a0;
  await new Promise((resolve) => setTimeout(resolve, 50));
  keep.length = 0;
  return { heap, buffers, gced: gcs !== before };
}

console.log(
  "| orders a flush | message bytes / order | build: heap B / order | build: buffers B / order | serialise: heap B / order | serialise: buffers B / order | build µs / order | serialise µs / order |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
let from = 0;
for (const size of SIZES) {
  const flushes = Array.from({ length: Math.max(20, Math.floor(2000 / size)) }, () => {
    from += size;
    return flush(size, from);
  });
  const orders = flushes.length * size;
  const queries = flushes.map(build);
  const message = serialise(queries[0]!) as unknown as { bytes: Uint8Array };
  const built = await allocated(flushes, build);
  let k = 0;
  const serialised = await allocated(flushes, () => serialise(queries[k++]!));
  // CPU: warm, then timed.
  const timed = (fn: () => void) => {
    for (let r = 0; r < 200; r++) fn();
    const t0 = performance.now();
    for (let r = 0; r < REPEAT; r++) fn();
    return ((performance.now() - t0) * 1000) / (REPEAT * size);
  };
  let j = 0;
  const buildUs = timed(() => build(flushes[j++ % flushes.length]!));
  const serialiseUs = timed(() => serialise(queries[j++ % queries.length]!));
  const gced = built.gced || serialised.gced ? " (GC in the window)" : "";
  console.log(
    `| ${size} | ${(message.bytes.length / size).toFixed(0)} | ${(built.heap / orders).toFixed(0)} | ${(built.buffers / orders).toFixed(0)} | ${(serialised.heap / orders).toFixed(0)} | ${(serialised.buffers / orders).toFixed(0)}${gced} | ${buildUs.toFixed(2)} | ${serialiseUs.toFixed(2)} |`,
  );
}

if (BY_FUNCTION) {
  // The sampled JS heap allocations of serialising and building, by function (self), collected
  // objects included.
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const size = SIZES[SIZES.length - 1]!;
  const flushes = Array.from({ length: 200 }, () => flush(size, (from += size)));
  for (const p of flushes) serialise(build(p));
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as {
    profile: { head: Node; samples: { size: number; nodeId: number }[] };
  };
  interface Node {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children: Node[];
  }
  const frameOf = new Map<number, string>();
  const walk = (node: Node) => {
    const { functionName, url, lineNumber } = node.callFrame;
    frameOf.set(
      node.id,
      `${functionName || "(anonymous)"} ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}`,
    );
    node.children.forEach(walk);
  };
  walk(profile.head);
  const bytes = new Map<string, number>();
  for (const s of profile.samples) {
    const frame = frameOf.get(s.nodeId)!;
    bytes.set(frame, (bytes.get(frame) ?? 0) + s.size);
  }
  const orders = flushes.length * size;
  console.log(`\nJS heap allocated by function (self, sampled), flushes of ${size}: B / order`);
  for (const [frame, b] of [...bytes].sort((x, y) => y[1] - x[1]).slice(0, 15)) {
    console.log(`${(b / orders).toFixed(0).padStart(8)}  ${frame}`);
  }
}
