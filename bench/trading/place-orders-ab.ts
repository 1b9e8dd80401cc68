// `BENCH_VARIANTS=a.sql,b.sql node --import tsx bench/trading/place-orders-ab.ts`: same-run A/B of
// `place_orders` bodies that take the current call's arguments (durable-objects/market/funds-locker.ts
// `lockStatement`): each file's `place_orders` made under its own name, then calls of each
// alternating (load drift on a shared machine reaches each alike), flushes of BENCH_SIZES
// placements (default 100,225,500) over 20 users, BENCH_REPEAT (default 30) a size and variant,
// once BENCH_PREFILL orders (default 50,000) are in the table. Prints the backend's CPU per order
// (/proc schedstat, commit included) and the orders each locked.
import { readFileSync } from "node:fs";
import { PgDialect } from "drizzle-orm/pg-core";
import { lockStatement } from "../../durable-objects/market/funds-locker";
import { benchPlacement, FENCE } from "./place-orders-placement";
import { median, sqlBench } from "../lib/sql-bench";

const VARIANTS = (process.env.BENCH_VARIANTS ?? "migrations/0029_place_orders_lean.sql").split(",");
const SIZES = (process.env.BENCH_SIZES ?? "100,225,500").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 30);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 50_000);

const dialect = new PgDialect();

await sqlBench("ab", 20, async ({ client, users, cpuMs }) => {
  await client.query("INSERT INTO market_lock_fences (market, epoch) VALUES ($1, $2)", [
    FENCE.market,
    FENCE.epoch,
  ]);
  for (const [k, file] of VARIANTS.entries()) {
    const text = readFileSync(file, "utf8").replace(
      /FUNCTION place_orders\(/,
      `FUNCTION place_orders_v${k}(`,
    );
    await client.query(text);
  }
  let n = 0;
  /** One call of variant `k` (or the installed `place_orders`); its backend CPU (ms) and orders locked. */
  const call = async (size: number, k?: number) => {
    const batch = Array.from({ length: size }, () => benchPlacement(users[n % users.length]!, n++));
    const q = dialect.sqlToQuery(lockStatement(batch, { ...FENCE }));
    const text =
      k === undefined ? q.sql : q.sql.replace("select place_orders(", `select place_orders_v${k}(`);
    const c0 = cpuMs();
    await client.query(text, q.params);
    const cpu = cpuMs() - c0;
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[])",
      [batch.map((p) => p.rows[0]!.id)],
    );
    return { cpu, locked: Number(rows[0]!.n) };
  };
  for (let done = 0; done < PREFILL; done += 500) await call(500);
  console.log("| variant | orders a call | backend CPU µs / order (median) | orders locked |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const size of SIZES) {
    const figures = VARIANTS.map(() => ({ cpu: [] as number[], locked: 0 }));
    for (let r = 0; r < REPEAT; r++) {
      for (const k of VARIANTS.keys()) {
        const { cpu, locked } = await call(size, k);
        figures[k]!.cpu.push((cpu * 1000) / size);
        figures[k]!.locked += locked;
      }
    }
    for (const [k, file] of VARIANTS.entries()) {
      const f = figures[k]!;
      console.log(`| ${file} | ${size} | ${median(f.cpu).toFixed(1)} | ${f.locked} of ${size * REPEAT} |`);
    }
  }
});
