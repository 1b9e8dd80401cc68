// `node --import tsx bench/trading/place-orders-audit-listing.ts`: what the admin audit listing
// (src/services/auth/audit-query.ts: newest first, a count beside each page) and the retention
// purge (src/domain/audit-log.ts) cost on a big audit_logs, with `audit_logs_occurred_idx` as
// the btree it is and as a BRIN (cheaper for each placement to write: bench/trading/place-orders-indexes.ts).
// BENCH_ROWS audit rows (default 3,000,000) over 30 days, 95% of them order placements of 10,000
// users; prints each query's server time (EXPLAIN ANALYZE, median of 3) under each index.
import { median, sqlBench } from "../lib/sql-bench";

const ROWS = Number(process.env.BENCH_ROWS ?? 3_000_000);
const DAYS = 30;

const QUERIES: [string, string][] = [
  ["page 1, no filter", "SELECT * FROM audit_logs ORDER BY occurred_at DESC, id DESC LIMIT 50"],
  ["page 100, no filter", "SELECT * FROM audit_logs ORDER BY occurred_at DESC, id DESC LIMIT 50 OFFSET 4950"],
  ["count, no filter", "SELECT count(*) FROM audit_logs"],
  [
    "page 1, one hour (from, to)",
    `SELECT * FROM audit_logs WHERE occurred_at >= now() - interval '10 days' AND occurred_at <= now() - interval '10 days' + interval '1 hour'
     ORDER BY occurred_at DESC, id DESC LIMIT 50`,
  ],
  [
    "count, one hour (from, to)",
    `SELECT count(*) FROM audit_logs WHERE occurred_at >= now() - interval '10 days' AND occurred_at <= now() - interval '10 days' + interval '1 hour'`,
  ],
  [
    "page 1, one action",
    "SELECT * FROM audit_logs WHERE action = 'user.login' ORDER BY occurred_at DESC, id DESC LIMIT 50",
  ],
  [
    "purge of a day (rolled back)",
    `DELETE FROM audit_logs WHERE occurred_at < now() - interval '${DAYS - 1} days'`,
  ],
];

await sqlBench("audit-listing", 1, async ({ client }) => {
  // In occurred_at order, as rows are written (BRIN's premise).
  await client.query(
    `INSERT INTO audit_logs (occurred_at, actor_id, actor_type, action, resource_type, resource_id, ip_address, user_agent, details)
     SELECT now() - interval '${DAYS} days' + (g * interval '${DAYS} days') / $1,
       ('00000000-0000-4000-8000-' || lpad((g % 10000)::text, 12, '0'))::uuid, 'user',
       CASE WHEN g % 20 = 0 THEN 'user.login' ELSE 'order.place' END,
       CASE WHEN g % 20 = 0 THEN 'user' ELSE 'order' END, gen_random_uuid()::text,
       '127.0.0.1', 'bench', '{"market": "BTC-USDT", "side": "buy", "type": "limit"}'
     FROM generate_series(1, $1) g`,
    [ROWS],
  );
  await client.query("VACUUM ANALYZE audit_logs");
  const { rows: def } = await client.query<{ def: string }>(
    "SELECT pg_get_indexdef('audit_logs_occurred_idx'::regclass) AS def",
  );
  const kinds: [string, string][] = [
    ["btree", def[0]!.def],
    ["brin", "CREATE INDEX audit_logs_occurred_idx ON audit_logs USING brin (occurred_at)"],
  ];
  const times = new Map<string, string[]>();
  const plans = new Map<string, string>();
  for (const [kind, create] of kinds) {
    await client.query("DROP INDEX audit_logs_occurred_idx");
    await client.query(create);
    await client.query("ANALYZE audit_logs");
    for (const [name, text] of QUERIES) {
      const ms: number[] = [];
      for (let r = 0; r < 3; r++) {
        await client.query("BEGIN");
        const { rows } = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`);
        await client.query("ROLLBACK");
        const plan = rows.map((x) => x["QUERY PLAN"]).join("\n");
        ms.push(Number(/Execution Time: ([\d.]+)/.exec(plan)![1]));
        plans.set(`${kind}: ${name}`, plan);
      }
      times.set(name, [...(times.get(name) ?? []), median(ms).toFixed(1)]);
    }
  }
  const { rows: sizes } = await client.query<{ name: string; size: string }>(
    `SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size FROM pg_class c
     WHERE c.relname LIKE 'audit_logs%' ORDER BY c.relname`,
  );
  console.log(`${ROWS} audit rows; sizes: ${sizes.map((s) => `${s.name} ${s.size}`).join(", ")}`);
  console.log(`| query | ${kinds.map(([k]) => `${k} ms`).join(" | ")} |`);
  console.log(`| --- | ${kinds.map(() => "---:").join(" | ")} |`);
  for (const [name] of QUERIES) console.log(`| ${name} | ${times.get(name)!.join(" | ")} |`);
  if (process.env.BENCH_PLANS) for (const [k, p] of plans) console.log(`\n${k}\n${p}`);
});
