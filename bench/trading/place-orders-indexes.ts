// `node --import tsx bench/trading/place-orders-indexes.ts`: what each index on the tables a
// placement writes (orders, audit_logs) costs `place_orders`: the call as the object makes it
// (durable-objects/market/funds-locker.ts), flushes of BENCH_SIZE placements (default 225)
// once BENCH_PREFILL orders (default 50,000) are in the table; for each index, phases with it
// and without it (dropped, then made again) alternate BENCH_PHASES times (default 4), each of
// BENCH_CALLS calls (default 8). Prints the backend's CPU per order with and without it.
//   BENCH_INDEXES=<name,…>: only these (default: every index of the two tables but their keys).
//   BENCH_CHANGE=<SQL> and BENCH_UNDO=<SQL>: instead, phases before and after that change (say
//     an index of another kind, or other storage parameters) alternate, the change undone after each.
import { PgDialect } from "drizzle-orm/pg-core";
import { lockStatement } from "../../durable-objects/market/funds-locker";
import { benchPlacement, FENCE } from "./place-orders-placement";
import { median, sqlBench } from "../lib/sql-bench";

const SIZE = Number(process.env.BENCH_SIZE ?? 225);
const PHASES = Number(process.env.BENCH_PHASES ?? 4);
const CALLS = Number(process.env.BENCH_CALLS ?? 8);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 50_000);

const dialect = new PgDialect();

await sqlBench("indexes", 20, async ({ client, users, cpuMs }) => {
  await client.query("INSERT INTO market_lock_fences (market, epoch) VALUES ($1, $2)", [
    FENCE.market,
    FENCE.epoch,
  ]);
  let n = 0;
  /** One call; its backend CPU (ms). */
  const call = async (size: number) => {
    const batch = Array.from({ length: size }, () => benchPlacement(users[n % users.length]!, n++));
    const q = dialect.sqlToQuery(lockStatement(batch, { ...FENCE }));
    const c0 = cpuMs();
    await client.query(q.sql, q.params);
    return cpuMs() - c0;
  };
  for (let done = 0; done < PREFILL; done += 500) await call(500);
  const { rows: indexes } = await client.query<{ name: string; def: string }>(
    `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relname IN ('orders', 'audit_logs') AND NOT x.indisprimary ORDER BY t.relname, i.relname`,
  );
  /** Per-order CPU (µs, median) in phases with and without `apply`, alternating. */
  const compare = async (apply: string, undo: string) => {
    const before: number[] = [];
    const after: number[] = [];
    for (let p = 0; p < PHASES; p++) {
      for (const changed of [false, true]) {
        if (changed) await client.query(apply);
        for (let c = 0; c < CALLS; c++) (changed ? after : before).push((await call(SIZE)) / SIZE);
        if (changed) await client.query(undo);
      }
    }
    return [median(before) * 1000, median(after) * 1000] as const;
  };
  const row = (name: string, [a, b]: readonly [number, number]) =>
    console.log(`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a - b).toFixed(1)} |`);
  const { BENCH_CHANGE: change, BENCH_UNDO: undo } = process.env;
  if (change && undo) {
    console.log("| change | µs / order before | after | saved µs / order |");
    console.log("| --- | ---: | ---: | ---: |");
    row(change, await compare(change, undo));
    return;
  }
  const only = process.env.BENCH_INDEXES?.split(",");
  console.log("| index | µs / order with it | without it | its cost µs / order |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const index of indexes.filter((i) => !only || only.includes(i.name))) {
    row(index.name, await compare(`DROP INDEX ${index.name}`, index.def));
  }
});
