import { Agent, request } from "undici";
import { cpuPerRequest, treeCpuMs, type CpuGroup, type TreeCpu } from "./cpu";

/** Latency figures of one scenario, in milliseconds. */
export interface LoadFigures {
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  /**
   * CPU milliseconds the whole run (this process and all under it: stack, workerd) spent per
   * measured request: the cost to the machine, which a busy machine does not distort as it does
   * req/s. Undefined where /proc is not readable.
   */
  cpuMsPerRequest?: number;
  /** The part of it spent in workerd (one thread: the Worker's own limit). */
  workerdCpuMsPerRequest?: number;
  /** The part of it spent in Postgres (all its processes). */
  postgresCpuMsPerRequest?: number;
  /** All of it by process group (./cpu.ts). */
  cpuByGroupMsPerRequest?: Record<CpuGroup, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function summarize(samples: number[], errors: number, seconds: number): LoadFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    requests: samples.length,
    errors,
    rps: samples.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
}

export interface Call {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * Closed-loop load: `connections` workers, each sending its next request as soon as the
 * previous answered, for `seconds` (after a warm-up whose samples are dropped). `next(worker)`
 * builds each request; `onBody` sees each 2xx body (e.g. to carry a rotated refresh token).
 */
export async function closedLoop(
  baseUrl: string,
  connections: number,
  seconds: number,
  warmupSeconds: number,
  next: (worker: number) => Call,
  onBody?: (worker: number, body: string) => void,
): Promise<LoadFigures> {
  const agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const measureFrom = started + warmupSeconds * 1000;
  const stopAt = measureFrom + seconds * 1000;
  let cpuAtStart: TreeCpu | undefined;
  const cpuTimer = setTimeout(() => (cpuAtStart = treeCpuMs()), warmupSeconds * 1000);
  const worker = async (id: number) => {
    while (performance.now() < stopAt) {
      const call = next(id);
      const t0 = performance.now();
      const res = await request(baseUrl + call.path, {
        method: call.method,
        headers: { ...(call.body ? { "content-type": "application/json" } : {}), ...call.headers },
        body: call.body,
        dispatcher: agent,
      });
      const text = await res.body.text();
      const t1 = performance.now();
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (ok) onBody?.(id, text);
      if (!ok && firstError === undefined) firstError = `${res.statusCode} ${text.slice(0, 300)}`;
      if (t0 >= measureFrom) {
        if (ok) samples.push(t1 - t0);
        else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, i) => worker(i)));
  clearTimeout(cpuTimer);
  const cpuAtEnd = treeCpuMs();
  await agent.close();
  if (firstError) console.error(`first failure on ${next(0).path}: ${firstError}`);
  const figures = summarize(samples, errors, seconds);
  const measured = samples.length + errors;
  if (cpuAtStart !== undefined && cpuAtEnd !== undefined && measured > 0) {
    Object.assign(figures, cpuPerRequest(cpuAtStart, cpuAtEnd, measured));
  }
  return figures;
}
