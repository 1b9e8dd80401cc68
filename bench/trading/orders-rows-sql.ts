// `node --import tsx bench/trading/orders-rows-sql.ts`: what an order row costs Postgres to write
// with the orders table's indexes, and what a HOT close would save: copies of `orders` (LIKE
// orders INCLUDING ALL) with index sets and fillfactors, each filled with BENCH_PREFILL orders
// (most closed), then BENCH_CALLS rounds alternating the copies: insert BENCH_ROWS orders `new`
// (as place_orders does, one statement) and close the previous round's (status, amounts,
// closed_at: what settle_page changes when a fill closes an order). Prints the backend's CPU per
// row inserted and closed, and the share of closes that were HOT.
// Why: at order.batch every order update is a close (migrations/0024 rewrites no accepted `new`
// order; every fill closes both orders), and a close leaves the open-orders partial indexes,
// whose predicates read `status`: it can never be HOT while they exist. The variants without
// them bound what any rework of those indexes could save.
//   BENCH_VARIANTS=<json>: {name: [index definition patterns to drop]}; a name ending in _ffN
//     sets the copy's fillfactor to N.
import { newOrderId } from "../../src/domain/market/order-id";
import { sqlBench } from "../lib/sql-bench";

const ROWS = Number(process.env.BENCH_ROWS ?? 164);
const CALLS = Number(process.env.BENCH_CALLS ?? 60);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 40_000);
/** The three indexes whose predicates read `status`. */
const STATUS = ["%(market, number)%", "%(user_id, market)%", "%(created_at) WHERE%"];
const VARIANTS: Record<string, string[]> = process.env.BENCH_VARIANTS
  ? (JSON.parse(process.env.BENCH_VARIANTS) as Record<string, string[]>)
  : { all: [], all_ff80: [], no_status: STATUS, no_status_ff80: STATUS, no_status_ff50: STATUS };

await sqlBench("rows", 20, async ({ client, users, cpuMs }) => {
  const names = Object.keys(VARIANTS);
  const indexes: Record<string, string> = {};
  for (const v of names) {
    await client.query(`CREATE TABLE o_${v} (LIKE orders INCLUDING ALL)`);
    for (const pattern of VARIANTS[v]!) {
      const { rows } = await client.query<{ name: string }>(
        `SELECT indexname AS name FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE $2`,
        [`o_${v}`, pattern],
      );
      for (const r of rows) await client.query(`DROP INDEX "${r.name}"`);
    }
    const ff = /_ff(\d+)$/.exec(v);
    if (ff) await client.query(`ALTER TABLE o_${v} SET (fillfactor = ${Number(ff[1])})`);
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_indexes WHERE tablename = $1`,
      [`o_${v}`],
    );
    indexes[v] = rows[0]!.n;
  }
  const insert = (v: string, ids: string[]) =>
    client.query(
      `INSERT INTO o_${v} (id, number, user_id, market, side, type, time_in_force, price, quantity,
         status, lock_asset, locked_amount, created_at, updated_at)
       SELECT i, nextval('orders_number_seq'), ($2::uuid[])[1 + n % 20], 'BTC-USDT', 'buy', 'limit',
         'GTC', 64000000000, 100000, 'new', 'USDT', 64000000, now(), now()
       FROM unnest($1::uuid[]) WITH ORDINALITY AS x(i, n)`,
      [ids, users],
    );
  const close = (v: string, ids: string[]) =>
    client.query(
      `UPDATE o_${v} o SET status = 'filled', consumed_amount = 64000000, filled_quantity = 100000,
         filled_quote = 64000000, closed_at = now(), updated_at = now()
       WHERE o.id = ANY($1::uuid[])`,
      [ids],
    );
  for (const v of names) {
    for (let k = 0; k < PREFILL / 1000; k++) {
      const ids = Array.from({ length: 1000 }, newOrderId);
      await insert(v, ids);
      await close(v, ids.slice(0, 900));
    }
    await client.query(`VACUUM ANALYZE o_${v}`);
  }
  await client.query("SELECT pg_stat_reset()");
  const cpu = Object.fromEntries(names.map((v) => [v, { insert: 0, close: 0 }]));
  const open: Record<string, string[]> = {};
  const timed = async (f: () => Promise<unknown>) => {
    const c0 = cpuMs();
    await f();
    return cpuMs() - c0;
  };
  for (let c = 0; c < CALLS; c++) {
    // Alternating, so load drift on a shared machine reaches every variant alike.
    for (const v of names) {
      const ids = Array.from({ length: ROWS }, newOrderId);
      cpu[v]!.insert += await timed(() => insert(v, ids));
      const previous = open[v];
      if (previous) cpu[v]!.close += await timed(() => close(v, previous));
      open[v] = ids;
    }
  }
  // The statistics reach the shared counters at the end of a transaction, at most once a second.
  await new Promise((r) => setTimeout(r, 1500));
  await client.query("SELECT 1");
  const { rows: hot } = await client.query<{ name: string; upd: string; hot: string }>(
    `SELECT relname AS name, n_tup_upd::text AS upd, n_tup_hot_upd::text AS hot
     FROM pg_stat_user_tables WHERE relname LIKE 'o\\_%'`,
  );
  console.log("| variant | indexes | insert CPU µs / row | close CPU µs / row | closes HOT |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const v of names) {
    const h = hot.find((r) => r.name === `o_${v}`);
    const share = h && Number(h.upd) > 0 ? `${((100 * Number(h.hot)) / Number(h.upd)).toFixed(0)}%` : "–";
    const us = (ms: number, n: number) => ((ms * 1000) / n).toFixed(2);
    console.log(
      `| ${v} | ${indexes[v]} | ${us(cpu[v]!.insert, ROWS * CALLS)} | ${us(cpu[v]!.close, ROWS * (CALLS - 1))} | ${share} |`,
    );
  }
});
