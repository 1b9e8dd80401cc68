// Opt-in CPU profiling of the Worker under test (`BENCH_PROFILE=<dir>`): talks the Chrome
// DevTools protocol to workerd's inspector and writes one `.cpuprofile` per measured phase,
// which Chrome DevTools or speedscope open. Profiles answer "where does workerd's time go",
// which latency figures alone cannot. BENCH_HEAP_SNAPSHOT=1 adds a V8 heap snapshot before and
// after each phase (`<name>-before.heapsnapshot`, `-after`): what the heap holds, which the
// next phase's major GCs must mark (bench/lib/heap-summary.ts sums them).
import { createWriteStream, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import WebSocket from "ws";

interface Target {
  id: string;
  title: string;
  webSocketDebuggerUrl: string;
}

export interface CpuProfiler {
  /** Profiles `run` and writes `<dir>/<name>.cpuprofile`. */
  around<T>(name: string, run: () => Promise<T>): Promise<T>;
  close(): void;
}

export async function connectProfiler(inspectorPort: number, dir: string): Promise<CpuProfiler> {
  const res = await request(`http://127.0.0.1:${inspectorPort}/json`);
  const targets = (await res.body.json()) as Target[];
  // Durable Objects run in the Worker's isolate locally, so one target covers both.
  const target = targets.find((t) => t.webSocketDebuggerUrl) ?? targets[0];
  if (!target) throw new Error("no inspector target");
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  let chunks: ((chunk: string) => void) | undefined;
  ws.on("message", (data) => {
    const msg = JSON.parse(String(data)) as {
      id?: number;
      result?: unknown;
      method?: string;
      params?: { chunk: string };
    };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
    else if (msg.method === "HeapProfiler.addHeapSnapshotChunk") chunks?.(msg.params!.chunk);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 200 });
  mkdirSync(dir, { recursive: true });
  const snapshots = process.env.BENCH_HEAP_SNAPSHOT === "1";
  if (snapshots) await call("HeapProfiler.enable");
  /** Writes a heap snapshot (V8 runs a full GC first: it holds only what is live). */
  const snapshot = async (name: string) => {
    const file = join(dir, `${name}.heapsnapshot`);
    const out = createWriteStream(file);
    chunks = (chunk) => out.write(chunk);
    await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    chunks = undefined;
    await new Promise((resolve) => out.end(resolve));
    console.error(`heap snapshot: ${file}`);
  };
  return {
    async around(name, run) {
      if (snapshots) await snapshot(`${name}-before`);
      await call("Profiler.start");
      try {
        return await run();
      } finally {
        const { profile } = (await call("Profiler.stop")) as { profile: unknown };
        const file = join(dir, `${name}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        console.error(`CPU profile: ${file}`);
        if (snapshots) await snapshot(`${name}-after`);
      }
    },
    close: () => ws.close(),
  };
}
