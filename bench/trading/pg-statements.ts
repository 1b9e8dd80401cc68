import { sql } from "drizzle-orm";
import type { openNodeDatabase } from "../../scripts/lib/node-database";
import { ticksMs, treeCpuMs, treeProcesses } from "../auth/cpu";

// `BENCH_PG_STATEMENTS=1 npm run bench:trading`: where Postgres' time goes at each load, per
// statement (pg_stat_statements, statements inside functions included) and per PL/pgSQL function
// (its own time), per order Postgres recorded and per fill it settled in the load's window,
// beside the Postgres processes' CPU (/proc) in the same window. Statement times are wall time
// inside the executor: on a loaded machine they include waits for a core and for row locks, so
// read them as shares of the CPU, not as CPU.

type Db = ReturnType<typeof openNodeDatabase>["db"];

/** Asks the stack for pg_stat_statements: call before it starts. */
export const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === "1";
if (PG_STATEMENTS) process.env.PANDORA_PG_STAT_STATEMENTS = "1";

const TOP = Number(process.env.BENCH_PG_STATEMENTS_TOP ?? 14);

const count = async (db: Db) =>
  (
    await db.execute<{ orders: string; trades: string }>(
      sql`select (select count(*) from orders)::text as orders, (select count(*) from trades)::text as trades`,
    )
  ).rows[0]!;

/** Each Postgres process under this one (the postmaster first among them) and its CPU so far, in ticks. */
const postgresTicks = () =>
  new Map((treeProcesses() ?? []).filter((p) => p.comm === "postgres").map((p) => [p.pid, p.ticks]));

/**
 * The window's Postgres CPU by process, largest first: a client backend named by its last
 * statement (the lock line's connection runs place_orders, the settler's settle_page), the
 * others by their type; the postmaster's own figure holds the backends that exited in the window.
 */
async function cpuByProcess(db: Db, before: Map<number, number>) {
  const after = postgresTicks();
  const activity = (
    await db.execute<{ pid: number; type: string; query: string }>(
      sql`select pid, backend_type as type, regexp_replace(left(query, 60), '[[:space:]]+', ' ', 'g') as query
        from pg_stat_activity`,
    )
  ).rows;
  const names = new Map(
    activity.map((a) => [a.pid, a.type === "client backend" ? `backend: ${a.query.slice(0, 40)}` : a.type]),
  );
  const byName = new Map<string, number>();
  for (const [pid, ticks] of after) {
    const name = names.get(pid) ?? (before.has(pid) ? "postmaster (+ backends exited)" : "exited or new");
    byName.set(name, (byName.get(name) ?? 0) + ticksMs(ticks - (before.get(pid) ?? 0)));
  }
  return [...byName].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1]);
}

/** Starts a window (statistics reset); its `end` reads what the window cost, as markdown. */
export async function pgStatementsWindow(db: Db) {
  await db.execute(sql`create extension if not exists pg_stat_statements`);
  await db.execute(sql`select pg_stat_statements_reset(), pg_stat_reset()`);
  const before = await count(db);
  const cpu0 = treeCpuMs()?.postgres ?? NaN;
  const processes0 = postgresTicks();
  return {
    async end(load: string): Promise<string> {
      const cpu = (treeCpuMs()?.postgres ?? NaN) - cpu0;
      const processes = await cpuByProcess(db, processes0);
      const after = await count(db);
      const orders = Number(after.orders) - Number(before.orders);
      const fills = Number(after.trades) - Number(before.trades);
      const us = (ms: number, n: number) => (n > 0 ? ((ms * 1000) / n).toFixed(1) : "–");
      const statements = (
        await db.execute<{
          toplevel: boolean;
          calls: string;
          exec: number;
          plan: number;
          rows: string;
          query: string;
        }>(sql`select toplevel, calls::text, total_exec_time as exec, total_plan_time as plan,
            rows::text, regexp_replace(query, '[[:space:]]+', ' ', 'g') as query
          from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
          order by total_exec_time desc limit ${TOP}`)
      ).rows;
      const topTotal = (
        await db.execute<{ exec: number }>(
          sql`select coalesce(sum(total_exec_time + total_plan_time), 0) as exec from pg_stat_statements where toplevel`,
        )
      ).rows[0]!.exec;
      const functions = (
        await db.execute<{ name: string; calls: string; self: number; total: number }>(
          sql`select funcname as name, calls::text, self_time as self, total_time as total
            from pg_stat_user_functions order by self_time desc limit ${TOP}`,
        )
      ).rows;
      // Rows written per order by table (pg_stat_user_tables; its counters lag up to a second
      // behind the commits, which the load's settling wait covers): a non-HOT update writes an
      // entry into every index whose predicate holds, a HOT one into none.
      const tables = (
        await db.execute<{ name: string; ins: string; upd: string; hot: string; del: string }>(
          sql`select relname as name, n_tup_ins::text as ins, n_tup_upd::text as upd,
              n_tup_hot_upd::text as hot, n_tup_del::text as del
            from pg_stat_user_tables where n_tup_ins + n_tup_upd + n_tup_del > 0
            order by n_tup_ins + n_tup_upd + n_tup_del desc limit ${TOP}`,
        )
      ).rows;
      const per = (n: string) => (orders > 0 ? (Number(n) / orders).toFixed(2) : "–");
      const cut = (q: string) => (q.length > 110 ? `${q.slice(0, 110)}…` : q).replace(/\|/g, "\\|");
      return [
        `#### Postgres at ${load}: ${orders} orders recorded, ${fills} fills settled in the window`,
        "",
        `Postgres processes' CPU ${cpu.toFixed(0)} ms: ${us(cpu, orders)} µs an order; top-level statements' ` +
          `execution + planning ${topTotal.toFixed(0)} ms: ${us(topTotal, orders)} µs an order.`,
        "",
        "| statement (nested: inside a function) | calls | exec ms | µs / order | µs / fill | µs / call | plan ms | rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ...statements.map(
          (s) =>
            `| ${s.toplevel ? "" : "(nested) "}${cut(s.query)} | ${s.calls} | ${s.exec.toFixed(0)} | ${us(s.exec, orders)} | ${us(s.exec, fills)} | ${us(s.exec, Number(s.calls))} | ${s.plan.toFixed(0)} | ${s.rows} |`,
        ),
        "",
        "| function | calls | self ms | µs / order (self) | total ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        ...functions.map(
          (f) =>
            `| ${f.name} | ${f.calls} | ${f.self.toFixed(0)} | ${us(f.self, orders)} | ${f.total.toFixed(0)} |`,
        ),
        "",
        "| Postgres process (a backend by its last statement) | CPU ms | µs / order |",
        "| --- | ---: | ---: |",
        ...processes.map(([name, ms]) => `| ${cut(name)} | ${ms.toFixed(0)} | ${us(ms, orders)} |`),
        "",
        "| table | inserted / order | updated / order | of which HOT | deleted / order |",
        "| --- | ---: | ---: | ---: | ---: |",
        ...tables.map((t) => `| ${t.name} | ${per(t.ins)} | ${per(t.upd)} | ${per(t.hot)} | ${per(t.del)} |`),
        "",
      ].join("\n");
    },
  };
}
