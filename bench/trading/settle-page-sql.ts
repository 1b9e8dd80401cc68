// `node --import tsx bench/trading/settle-page-sql.ts`: settlement's own Postgres cost per
// entry: `settle_page` called directly on the local stack's Postgres (no Worker, no object), as
// the market object's settler calls it (src/domain/settlement/settle-page.ts `settlePageCall`:
// column arrays, migrations/0024): one call per page of N entries (BENCH_SIZES, default
// 8,40,400,2000), BENCH_REPEAT times per size. A page is fills of resting makers by takers: per
// trade the taker's acceptance, the trade and both orders' closing entries (4 entries), and
// BENCH_RESTING (default 0) of the page's entries acceptances of orders that rest untouched (0.125
// is the page of the trading benchmark's order.batch load: ~49 trades and ~28 resting acceptances;
// its orders are inserted `new`, as place_orders inserts them, so an acceptance rewrites nothing
// and the page changes 98 orders, each fill closing both of its own). Prints the backend's CPU per
// entry and per fill (/proc: what load on a shared machine leaves alone) for the call and for
// relaying its events (the relay's read and mark of event_outbox, Redis left out), the server's
// execution time per call (EXPLAIN ANALYZE) and the events' rows.
//   BENCH_PREFILL=<n>: first n settled orders (filled, their trades: n/2, one a pair) and n/10
//     resting ones, so that tables and indexes are the size of the trading benchmark's (~1M
//     orders at order.batch), not empty.
//   BENCH_SETUP=<sql>: run after the prefill, before the calls (e.g. an index or fillfactor
//     variant: `ALTER TABLE orders SET (fillfactor = 80)`).
//   BENCH_BASELINE=<sql file>: also that file's `settle_page` (e.g. migrations/0021_…, which
//     takes the page as one json array; before 0018 nested, as jsonb), alternating with the
//     current one in the same run: compare by the ratio. It runs with the current function's
//     settings (0028: plan_cache_mode, jit), so that only the bodies differ.
//   BENCH_EXPLAIN=<n>: last, one call of n entries with every statement's plan and time
//     (auto_explain: those over BENCH_EXPLAIN_MIN_MS, default 1 ms, nested ones included; no per-node timing, which costs more than
//     the nodes here). BENCH_EXPLAIN_REPEAT=<k>: k such calls of each function, printed as each
//     statement's median time (wall, not CPU: compare within a run).
//   BENCH_PERF=<file>: `perf record` (dwarf call graphs) of the backend over the measured calls;
//     attribute the samples under plpgsql_exec_function to statements with `perf script`.
import { readFileSync } from "node:fs";
import type { SQL } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import type { OutboxEntry } from "../../src/domain/market/commands";
import { newOrderId } from "../../src/domain/market/order-id";
import { markPublished, pendingRows } from "../../src/domain/events/event-outbox";
import { settlePageCall } from "../../src/domain/settlement/settle-page";
import { median, sqlBench } from "../lib/sql-bench";

const SIZES = (process.env.BENCH_SIZES ?? "8,40,400,2000").split(",").map(Number);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 10);
const TRADERS = Number(process.env.BENCH_TRADERS ?? 20);
const RESTING = Number(process.env.BENCH_RESTING ?? 0);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 0);
const BASELINE = process.env.BENCH_BASELINE;
const MARKET = "BTC-USDT";
const PRICE_MINOR = 64_000_000_000n; // 64,000 USDT (6 decimals)
const QUANTITY_MINOR = 100_000n; // 0.001 BTC (8 decimals)
const QUOTE_MINOR = (PRICE_MINOR * QUANTITY_MINOR) / 10n ** 8n;

await sqlBench("settle", TRADERS, async ({ client, users, cpuMs }) => {
  let seq = 0;
  let trade = 0;
  let ts = Date.now();
  /**
   * A page of about `size` entries (trades of 4 entries, RESTING of them resting acceptances),
   * its orders inserted as the lock left them (`new`: place_orders, migrations/0027).
   */
  async function page(size: number): Promise<Record<string, unknown>[]> {
    const entries: Record<string, unknown>[] = [];
    const orders: unknown[][] = [];
    const resting = Math.round(size * RESTING);
    for (let i = 0; i < resting; i++) {
      const placed = { id: newOrderId(), user: users[(trade + i) % users.length]! };
      orders.push([placed.id, placed.user, "buy", "new", "USDT", QUOTE_MINOR.toString()]);
      const accepted = { kind: "order", ts: ts++, market: MARKET, event: "accepted", status: "new" };
      entries.push({ seq: ++seq, ...accepted, orderId: placed.id, userId: placed.user });
    }
    for (let i = 0; i < Math.floor((size - resting) / 4); i++) {
      const taker = { id: newOrderId(), user: users[trade % users.length]! };
      const maker = { id: newOrderId(), user: users[(trade + 1) % users.length]! };
      orders.push([taker.id, taker.user, "buy", "new", "USDT", QUOTE_MINOR.toString()]);
      orders.push([maker.id, maker.user, "sell", "new", "BTC", QUANTITY_MINOR.toString()]);
      const at = ts++;
      const order = { kind: "order", ts: at, market: MARKET };
      entries.push({
        seq: ++seq,
        ...order,
        event: "accepted",
        orderId: taker.id,
        userId: taker.user,
        status: "new",
      });
      entries.push({
        seq: ++seq,
        kind: "trade",
        ts: at,
        tradeId: `${MARKET}:${++trade}`,
        market: MARKET,
        price: "64000.00",
        quantity: "0.00100",
        priceMinor: PRICE_MINOR.toString(),
        quantityMinor: QUANTITY_MINOR.toString(),
        takerSide: "buy",
        takerOrderId: taker.id,
        takerUserId: taker.user,
        makerOrderId: maker.id,
        makerUserId: maker.user,
        makerFeeBps: 10,
        takerFeeBps: 20,
      });
      for (const o of [maker, taker]) {
        const done = { event: "done", status: "filled", remaining: "0.00000", filled: "0.00100" };
        entries.push({ seq: ++seq, ...order, ...done, orderId: o.id, userId: o.user });
      }
    }
    await client.query(
      `INSERT INTO orders (id, user_id, market, side, type, time_in_force, price, quantity, status, lock_asset, locked_amount)
       SELECT (o->>0)::uuid, (o->>1)::uuid, $2, (o->>2)::order_side, 'limit', 'GTC', $3::numeric, $4::numeric, (o->>3)::order_status, o->>4, (o->>5)::numeric
       FROM jsonb_array_elements($1::jsonb) o`,
      [JSON.stringify(orders), MARKET, PRICE_MINOR.toString(), QUANTITY_MINOR.toString()],
    );
    return entries;
  }

  const dialect = new PgDialect();
  const sqlOf = (query: SQL) => {
    const q = dialect.sqlToQuery(query);
    return { text: q.sql, values: q.params };
  };
  type Fn = { name: string; call: (entries: unknown[]) => { text: string; values: unknown[] } };
  const rules = { symbol: MARKET, baseAsset: "BTC", quoteAsset: "USDT", baseDecimals: 8 };
  const functions: Fn[] = [
    {
      name: "settle_page",
      call: (e) => sqlOf(settlePageCall(rules, e as OutboxEntry[], null, true)),
    },
  ];
  if (BASELINE) {
    // The file's function alone (the types it uses exist: the current migration's).
    const file = readFileSync(BASELINE, "utf8");
    const text = file
      .slice(file.search(/CREATE (OR REPLACE )?FUNCTION settle_page\(/))
      .replace(/FUNCTION settle_page\(/, "FUNCTION settle_page_baseline(");
    await client.query(text);
    await client.query(`DO $$ DECLARE f regprocedure; s text; BEGIN
      FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'settle_page_baseline' LOOP
        FOR s IN SELECT unnest(proconfig) FROM pg_proc WHERE proname = 'settle_page' AND 'e_seq' = ANY(proargnames) LOOP
          EXECUTE format('ALTER FUNCTION %s SET %s = %L', f, split_part(s, '=', 1), split_part(s, '=', 2));
        END LOOP;
      END LOOP; END $$`);
    // From 0024 the page as column arrays (the settler's call, renamed); before, one json array
    // (0018-0021), and before 0018 nested, as jsonb.
    const columns = /e_seq bigint\[\]/.test(text);
    const flat = /p_entries json/.test(text);
    functions.push({
      name: "settle_page_baseline",
      call: (e) => {
        if (columns) {
          const q = sqlOf(settlePageCall(rules, e as OutboxEntry[], null, true));
          return { ...q, text: q.text.replace("select settle_page(", "select settle_page_baseline(") };
        }
        return {
          text: `SELECT settle_page_baseline($1, NULL, $2::${flat ? "json" : "jsonb"}, 'BTC', 'USDT', 8, true) AS r`,
          values: [MARKET, JSON.stringify(flat ? e : [e])],
        };
      },
    });
  }
  const call = (fn: (typeof functions)[number], entries: unknown[], explain: string) => {
    const { text, values } = fn.call(entries);
    return client.query<Record<string, string>>(`${explain} ${text}`, values);
  };
  /** What the relay does in Postgres for pending events (src/domain/events/event-outbox.ts), Redis left out. */
  async function relaySql(): Promise<number> {
    let rows = 0;
    for (;;) {
      // As the relay reads both tables and marks what it published (src/domain/events/event-outbox.ts):
      // in one transaction with sorting off, so the planner picks the relay's plan.
      await client.query("begin");
      await client.query("select set_config('enable_sort', 'off', true)");
      const { rows: pending } = await client.query<{ id: string; paged: boolean }>(sqlOf(pendingRows(500)));
      if (pending.length > 0) await client.query(sqlOf(markPublished(pending)));
      await client.query("commit");
      if (pending.length === 0) return rows;
      rows += pending.length;
    }
  }

  if (PREFILL > 0) {
    // In chunks of 100,000 (one statement each), time-ordered ids as newOrderId's, then analysed.
    for (let done = 0; done < PREFILL; done += 100_000) {
      const n = Math.min(100_000, PREFILL - done);
      await client.query(
        `INSERT INTO orders (id, user_id, market, side, type, time_in_force, price, quantity, status, lock_asset,
           locked_amount, consumed_amount, filled_quantity, filled_quote, closed_at)
         SELECT ((lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
             || '7' || substr(md5(g::text), 1, 19))::uuid), u[1 + g % cardinality(u)], $2, 'buy', 'limit', 'GTC',
           $3::numeric, $4::numeric, CASE WHEN g % 11 = 0 THEN 'new' ELSE 'filled' END::order_status, 'USDT',
           $5::numeric, CASE WHEN g % 11 = 0 THEN 0 ELSE $5::numeric END, 0, 0, now()
         FROM generate_series($6::int, $6::int + $1::int - 1) g, (SELECT $7::uuid[] AS u) x`,
        [n, MARKET, PRICE_MINOR.toString(), QUANTITY_MINOR.toString(), QUOTE_MINOR.toString(), done, users],
      );
      await client.query(
        `INSERT INTO trades (market, trade_id, seq, price, quantity, quote_amount, taker_side, buy_order_id,
           sell_order_id, buyer_id, seller_id, buyer_fee, seller_fee, executed_at)
         SELECT $2, 'prefill:' || g, g, $3::numeric, $4::numeric, $5::numeric, 'buy', gen_random_uuid(),
           gen_random_uuid(), u[1 + g % cardinality(u)], u[1 + (g + 1) % cardinality(u)], 0, 0, now()
         FROM generate_series($6::int, $6::int + $1::int / 2 - 1) g, (SELECT $7::uuid[] AS u) x`,
        [n, MARKET, PRICE_MINOR.toString(), QUANTITY_MINOR.toString(), QUOTE_MINOR.toString(), done, users],
      );
    }
    for (const t of ["orders", "trades"]) await client.query(`VACUUM ANALYZE ${t}`);
  }
  if (process.env.BENCH_SETUP) await client.query(process.env.BENCH_SETUP);
  // Warm: plpgsql plans each statement on its first calls (custom plans for the first five),
  // then keeps the plan for the connection's life, as the settler's pooled connection does.
  for (let i = 0; i < 6; i++) for (const fn of functions) await call(fn, await page(4), "");
  await relaySql();
  console.log(
    "| function | entries a call | fills a call | backend CPU µs / entry | backend CPU µs / fill | backend CPU ms a call | relay CPU µs / entry | server ms a call (median) | server µs / entry | event rows a call | entries settled |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const { rows: pidRow } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const { spawn } = await import("node:child_process");
  const perf = process.env.BENCH_PERF
    ? spawn(
        "perf",
        [
          "record",
          "-F",
          "2000",
          "--call-graph",
          "dwarf,16384",
          "-p",
          String(pidRow[0]!.pid),
          "-o",
          process.env.BENCH_PERF,
        ],
        { stdio: "inherit" },
      )
    : undefined;
  if (perf) await new Promise((r) => setTimeout(r, 1000));
  for (const size of SIZES) {
    const figures = functions.map(() => ({
      server: [] as number[],
      cpu: 0,
      relay: 0,
      rows: 0,
      entries: 0,
      fills: 0,
      settled: 0,
    }));
    for (let r = 0; r < REPEAT; r++) {
      // Alternating, so load drift on a shared machine reaches every function alike.
      for (const [k, fn] of functions.entries()) {
        const f = figures[k]!;
        const entries = await page(size);
        f.entries += entries.length;
        f.fills += entries.filter((e) => e.kind === "trade").length;
        const c0 = cpuMs();
        const { rows } = await call(fn, entries, "EXPLAIN (ANALYZE, TIMING OFF, FORMAT TEXT)");
        const c1 = cpuMs();
        f.rows += await relaySql();
        f.relay += cpuMs() - c1;
        f.cpu += c1 - c0;
        f.server.push(
          Number(/Execution Time: ([\d.]+)/.exec(rows.map((x) => x["QUERY PLAN"]).join("\n"))![1]),
        );
        const { rows: c } = await client.query<{ n: string }>(
          "SELECT last_seq AS n FROM settlement_cursors WHERE market = $1",
          [MARKET],
        );
        if (Number(c[0]!.n) === seq) f.settled += entries.length;
      }
    }
    for (const [k, fn] of functions.entries()) {
      const f = figures[k]!;
      const s = median(f.server);
      const n = f.entries;
      console.log(
        `| ${fn.name} | ${n / REPEAT} | ${f.fills / REPEAT} | ${((f.cpu * 1000) / n).toFixed(0)} | ${((f.cpu * 1000) / f.fills).toFixed(0)} | ${(f.cpu / REPEAT).toFixed(2)} | ${((f.relay * 1000) / n).toFixed(0)} | ${s.toFixed(2)} | ${((s * 1000 * REPEAT) / n).toFixed(0)} | ${(f.rows / REPEAT).toFixed(0)} | ${f.settled} of ${n} |`,
      );
    }
  }
  // Updates of the measured calls (and the warm-up's) HOT or not: statistics reach the view
  // within a second of the commit.
  await new Promise((r) => setTimeout(r, 1500));
  const { rows: hot } = await client.query<{ upd: string; hot: string }>(
    "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'orders'",
  );
  console.log(`orders updated: ${hot[0]!.upd}, of which HOT: ${hot[0]!.hot}`);
  if (perf) {
    perf.kill("SIGINT");
    await new Promise((r) => perf.on("exit", r));
  }
  if (process.env.BENCH_EXPLAIN) {
    await client.query("LOAD 'auto_explain'");
    await client.query(
      `SET auto_explain.log_min_duration = ${process.env.BENCH_EXPLAIN_MIN_MS ?? 1}; SET auto_explain.log_nested_statements = on; SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off; SET client_min_messages = log`,
    );
    const times = new Map<string, number[]>();
    let current = "";
    const repeat = Number(process.env.BENCH_EXPLAIN_REPEAT ?? 1);
    client.on("notice", (m) => {
      if (repeat === 1) console.log(m.message);
      const d = /^duration: ([\d.]+) ms/.exec(m.message ?? "");
      const q = /Query Text: *(.{0,60})/.exec(m.message ?? "");
      if (!d || !q) return;
      const k = `${current}: ${q[1]!.replace(/\s+/g, " ")}`;
      times.set(k, [...(times.get(k) ?? []), Number(d[1])]);
    });
    for (let i = 0; i < repeat; i++) {
      for (const fn of functions) {
        current = fn.name;
        await call(fn, await page(Number(process.env.BENCH_EXPLAIN)), "");
      }
    }
    for (const [k, v] of [...times].sort()) console.log(`${median(v).toFixed(3)} ms (${v.length})  ${k}`);
    await client.query("RESET client_min_messages");
    client.removeAllListeners("notice");
  }
});
