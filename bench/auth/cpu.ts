import { readFileSync, readdirSync } from "node:fs";

// CPU time of this process and every process under it (the stack's supervisor, Postgres and its
// backends, PgBouncer, redis-server, workerd): what a scenario costs the machine, which holds on
// a busy machine where req/s does not. Linux only (reads /proc); elsewhere `undefined`.

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime (reaped children count once, in their parent). */
  ticks: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    return { pid: Number(pid), ppid: Number(fields[1]), comm, ticks };
  } catch {
    return undefined; // exited while we looked
  }
}

/**
 * Where the machine's CPU goes, by process: `workerd` (one JavaScript thread, the first limit of
 * a Worker's req/s), `postgres` (its backends: the funds lock, settlement, the Worker's
 * queries), `pgbouncer`, `redis` (redis-server), `stack` (the stack's Node supervisor: the Neon
 * WebSocket proxy, the Neon HTTP endpoint, the Upstash shim), `bench` (this process: the load's
 * own client and Miniflare's Node side) and `other` (anything else under it). A process that exits
 * in a window moves its whole life's CPU into its parent's group when reaped: today only Postgres
 * backends do, reaped by the postmaster, in their own group.
 */
export const CPU_GROUPS = ["workerd", "postgres", "pgbouncer", "redis", "stack", "bench", "other"] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

const GROUP_OF_COMM: Record<string, CpuGroup> = {
  workerd: "workerd",
  postgres: "postgres",
  pgbouncer: "pgbouncer",
  "redis-server": "redis",
  node: "stack",
};

export interface TreeCpu {
  /** Milliseconds of CPU used so far by the whole tree. */
  total: number;
  /** …of which by workerd. */
  workerd: number;
  /** …of which by Postgres. */
  postgres: number;
  /** …by group (the two above included). */
  groups: Record<CpuGroup, number>;
}

/** The processes under `root` (not itself), each with its CPU so far; `undefined` off Linux. */
export function treeProcesses(root = process.pid): ProcStat[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const stats = entries.map(readStat).filter((s): s is ProcStat => s !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const found: ProcStat[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const stat = queue.pop()!;
    found.push(stat);
    queue.push(...(children.get(stat.pid) ?? []));
  }
  return found;
}

/** Milliseconds of CPU in `ticks` (USER_HZ). */
export const ticksMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;

/** CPU used so far by this process tree. */
export function treeCpuMs(root = process.pid): TreeCpu | undefined {
  const processes = treeProcesses(root);
  if (processes === undefined) return undefined;
  const groups = Object.fromEntries(CPU_GROUPS.map((g) => [g, 0])) as Record<CpuGroup, number>;
  groups.bench = ticksMs(readStat(String(root))?.ticks ?? 0);
  for (const stat of processes) groups[GROUP_OF_COMM[stat.comm] ?? "other"] += ticksMs(stat.ticks);
  const total = CPU_GROUPS.reduce((sum, g) => sum + groups[g], 0);
  return { total, workerd: groups.workerd, postgres: groups.postgres, groups };
}

/** CPU per request between two readings of the tree: the figures of `LoadFigures`. */
export function cpuPerRequest(start: TreeCpu, end: TreeCpu, requests: number) {
  const per = (a: number, b: number) => (b - a) / requests;
  return {
    cpuMsPerRequest: per(start.total, end.total),
    workerdCpuMsPerRequest: per(start.workerd, end.workerd),
    postgresCpuMsPerRequest: per(start.postgres, end.postgres),
    cpuByGroupMsPerRequest: Object.fromEntries(
      CPU_GROUPS.map((g) => [g, per(start.groups[g], end.groups[g])]),
    ) as Record<CpuGroup, number>,
  };
}
