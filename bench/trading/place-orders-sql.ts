// `node --import tsx bench/trading/place-orders-sql.ts`: the funds lock's own Postgres cost per
// order: `place_orders` called directly on the local stack's Postgres (no Worker, no object),
// the way the market object calls it (durable-objects/market/funds-locker.ts `lockStatement`:
// column arrays, the market's lock fence passed inside the call, migrations/0033), alternating
// with the call the release before made (0029's, ./place-orders-0029.ts): one call per flush of N
// placements (BENCH_SIZES, default 25,100,225,500) spread over BENCH_TRADERS users, committed,
// BENCH_REPEAT times per size, once BENCH_PREFILL orders (default 20,000) are in the table.
// Prints the backend's CPU per order (/proc: what load on a shared machine leaves alone), the
// server's execution time per call (EXPLAIN ANALYZE), the wall time of the round trip, and of
// one more call per size its answer's bytes and what reading it costs here (JSON.parse and the
// outcome per placement, as the object does: V8, as in workerd).
//   BENCH_BASELINE=<sql file>: also that file's jsonb `place_orders(batch jsonb)` (an older
//     migration: 0019 or before), alternating with the others in the same run: compare by
//     the ratio.
//   BENCH_EXPLAIN=<n>: first one call of n placements with every statement's plan and time
//     (auto_explain, nested statements included).
import { readFileSync } from "node:fs";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import { lockOutcomes, lockStatement } from "../../durable-objects/market/funds-locker";
import type { LockOutcome, PlacementFunding } from "../../src/domain/market/commands";
import { lockStatement0029 } from "./place-orders-0029";
import { benchPlacement, FENCE } from "./place-orders-placement";
import { median, sqlBench } from "../lib/sql-bench";

const SIZES = (process.env.BENCH_SIZES ?? "25,100,225,500").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 20);
const TRADERS = Number(process.env.BENCH_TRADERS ?? 20);
/** `BENCH_PREFILL=<n>`: orders in the table before the timing starts. */
const PREFILL = Number(process.env.BENCH_PREFILL ?? 20_000);
/** `BENCH_BASELINE=<sql file>`: also time that file's `place_orders`, alternating with the current one. */
const BASELINE = process.env.BENCH_BASELINE;

const dialect = new PgDialect();
const query = (statement: SQL) => {
  const q = dialect.sqlToQuery(statement);
  return { text: q.sql, values: q.params };
};
/** A call of the current `place_orders` as the object makes it, as text and parameters. */
const current = (batch: PlacementFunding[]) => query(lockStatement(batch, { ...FENCE }));
/** The call of the release before (0029's `place_orders`). */
const previous = (batch: PlacementFunding[]) => query(lockStatement0029(batch, { ...FENCE }));
/** The outcomes from the answer (0029's and 0033's alike), as the object reads them. */
const read = (batch: PlacementFunding[], text: string): LockOutcome[] =>
  lockOutcomes(batch, JSON.parse(text));
/** A call of the baseline's jsonb `place_orders`. */
const baseline = (batch: PlacementFunding[]) => ({
  text: "SELECT place_orders_baseline($1::jsonb)",
  values: [JSON.stringify(batch)],
});

await sqlBench("lock", TRADERS, async ({ client, users, cpuMs }) => {
  await client.query("INSERT INTO market_lock_fences (market, epoch) VALUES ($1, $2)", [
    FENCE.market,
    FENCE.epoch,
  ]);
  const functions = [
    { name: "place_orders (0033, audit contexts)", call: current, read },
    { name: "place_orders (0029)", call: previous, read },
  ] as {
    name: string;
    call: (batch: PlacementFunding[]) => { text: string; values: unknown[] };
    read?: (batch: PlacementFunding[], text: string) => LockOutcome[];
  }[];
  if (BASELINE) {
    const text = readFileSync(BASELINE, "utf8").replace(
      /FUNCTION place_orders\(/,
      "FUNCTION place_orders_baseline(",
    );
    await client.query(text);
    functions.push({ name: "place_orders_baseline", call: baseline });
  }
  console.log(
    "| function | orders a call | backend CPU µs / order | server ms a call (median) | server µs / order | wall ms a call | orders locked | answer bytes / order | reading it µs / order |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  let n = 0;
  // Orders already in the table (placed in 500s before the timing): a plan that reads the whole
  // table (0015's generic plans did) shows only once there is a table to read.
  for (let done = 0; done < PREFILL; done += 500) {
    const batch = Array.from({ length: 500 }, () => benchPlacement(users[n % users.length]!, n++));
    const q = current(batch);
    await client.query(q.text, q.values);
  }
  if (process.env.BENCH_EXPLAIN) {
    // Each statement inside the function with its own plan and time (auto_explain, to this client).
    await client.query("LOAD 'auto_explain'");
    await client.query(
      "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_analyze = on; SET client_min_messages = log",
    );
    client.on("notice", (m) => console.log(m.message));
    const size = Number(process.env.BENCH_EXPLAIN);
    const batch = Array.from({ length: size }, () => benchPlacement(users[n % users.length]!, n++));
    const q = current(batch);
    await client.query(q.text, q.values);
    await client.query("RESET client_min_messages");
    client.removeAllListeners("notice");
  }
  /** One more call's answer: its bytes a placement, and reading it (median of 200) a placement. */
  const answerCost = async (fn: (typeof functions)[number], size: number) => {
    if (!fn.read) return { bytes: "", readUs: "" };
    const batch = Array.from({ length: size }, () => benchPlacement(users[n % users.length]!, n++));
    const q = fn.call(batch);
    const { rows } = await client.query<{ a: string }>(`SELECT x.r::text AS a FROM (${q.text}) x`, q.values);
    const text = rows[0]!.a;
    const times: number[] = [];
    for (let r = 0; r < 200; r++) {
      const t0 = performance.now();
      fn.read(batch, text);
      times.push(performance.now() - t0);
    }
    return {
      bytes: (Buffer.byteLength(text) / size).toFixed(1),
      readUs: ((median(times) * 1000) / size).toFixed(2),
    };
  };
  for (const size of SIZES) {
    const figures = functions.map(() => ({
      server: [] as number[],
      wall: [] as number[],
      cpu: 0,
      locked: 0,
    }));
    for (let r = 0; r < REPEAT; r++) {
      // Alternating, so load drift on a shared machine reaches every function alike.
      for (const [k, fn] of functions.entries()) {
        const f = figures[k]!;
        const batch = Array.from({ length: size }, () => benchPlacement(users[n % users.length]!, n++));
        const q = fn.call(batch);
        const t0 = performance.now();
        const c0 = cpuMs();
        const { rows } = await client.query<{ "QUERY PLAN": string }>(
          `EXPLAIN (ANALYZE, TIMING OFF, FORMAT TEXT) ${q.text}`,
          q.values,
        );
        f.cpu += cpuMs() - c0;
        f.wall.push(performance.now() - t0);
        f.server.push(
          Number(/Execution Time: ([\d.]+)/.exec(rows.map((x) => x["QUERY PLAN"]).join("\n"))![1]),
        );
        const { rows: c } = await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[])",
          [batch.map((p) => p.rows[0]!.id)],
        );
        f.locked += Number(c[0]!.n);
      }
    }
    for (const [k, fn] of functions.entries()) {
      const f = figures[k]!;
      const s = median(f.server);
      const { bytes, readUs } = await answerCost(fn, size);
      console.log(
        `| ${fn.name} | ${size} | ${((f.cpu * 1000) / (size * REPEAT)).toFixed(0)} | ${s.toFixed(2)} | ${((s * 1000) / size).toFixed(0)} | ${median(f.wall).toFixed(2)} | ${f.locked} of ${size * REPEAT} | ${bytes} | ${readUs} |`,
      );
    }
  }
});
