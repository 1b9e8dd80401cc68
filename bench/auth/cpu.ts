import { readFileSync, readdirSync } from "node:fs";

// CPU time of this process and every process under it (the stack's supervisor, Postgres and its
// backends, PgBouncer, redis-server, workerd): what a scenario costs the machine, which holds on
// a busy machine where req/s does not. Linux only (reads /proc); elsewhere `undefined`.

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
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

export interface TreeCpu {
  /** Milliseconds of CPU used so far by the whole tree. */
  total: number;
  /** …of which by workerd: one JavaScript thread, the first limit of a Worker's req/s. */
  workerd: number;
  /** …of which by Postgres (its backends: the funds lock, settlement, the Worker's queries). */
  postgres: number;
}

/** CPU used so far by this process tree. */
export function treeCpuMs(root = process.pid): TreeCpu | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const stats = entries.map(readStat).filter((s): s is ProcStat => s !== undefined);
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  let ticks = readStat(String(root))?.ticks ?? 0;
  let workerd = 0;
  let postgres = 0;
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const stat = queue.pop()!;
    ticks += stat.ticks;
    if (stat.comm === "workerd") workerd += stat.ticks;
    if (stat.comm === "postgres") postgres += stat.ticks;
    queue.push(...(children.get(stat.pid) ?? []));
  }
  const ms = (n: number) => (n * 1000) / TICKS_PER_SECOND;
  return { total: ms(ticks), workerd: ms(workerd), postgres: ms(postgres) };
}
