// `npm run bench:trading`: order placement through the whole stack — authentication, market
// rules, the lock in Postgres, the order book Durable Object, settlement after the response —
// against the Worker itself (bundled by wrangler, run by the Miniflare API: no `wrangler dev`
// proxy, no local request tracing) and the local Postgres + Redis stack.
//   1. GET /health (no I/O) at the same concurrency: the floor of this machine and run.
//   2. POST /api/v1/orders by TRADERS concurrent traders (closed loop), limit orders around one
//      price so about half cross: p50 / p95 / p99 and orders/s.
//   3. Settlement lag per fill: the fill's time in the order book (trades.executed_at) to the
//      commit of its balances (trades.created_at, stamped with clock_timestamp() as the last
//      statement of the settlement transaction), from Postgres after the run.
import { eq, sql } from "drizzle-orm";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { users } from "../../src/db/schema";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../../src/services/ledger";
import { closedLoop, type Call, type LoadFigures } from "../auth/load";
import { mulberry32 } from "../engine/prng";
import { startWorkerUnderTest } from "../lib/worker-under-test";

const TRADERS = Number(process.env.BENCH_TRADERS ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const WARMUP_SECONDS = 3;
const MARKET = "BTC-USDT";
const MID_TICKS = 6_400_000; // 64,000.00 USDT
const PASSWORD = "benchmark pass phrase";

const loop = (base: string, connections: number, next: (worker: number) => Call) =>
  closedLoop(base, connections, SECONDS, WARMUP_SECONDS, next);

const ms = (n: number) => n.toFixed(1);
const row = (name: string, f: LoadFigures) =>
  `| ${name} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${f.rps.toFixed(0)} | ${f.requests} | ${f.errors} |`;

async function main() {
  const worker = await startWorkerUnderTest("trading");
  const { info } = worker;
  const { db, pool } = openNodeDatabase(info.databaseUrl, info.neonWsProxy);
  try {
    const { base, post } = worker;

    console.error(`registering, verifying and funding ${TRADERS} traders…`);
    const tokens: string[] = [];
    for (let i = 0; i < TRADERS; i++) {
      const email = `trader-${i}-${Date.now()}@bench.test`;
      const { user } = (await post("/api/v1/auth/register", {
        email,
        password: PASSWORD,
        first_name: "Bench",
        last_name: `Trader ${i}`,
      })) as { user: { id: string } };
      await db.update(users).set({ kycStatus: "verified" }).where(eq(users.id, user.id));
      for (const [asset, amount] of [
        ["BTC", 1_000n * 100_000_000n],
        ["USDT", 100_000_000n * 1_000_000n],
      ] as const) {
        await postJournalEntry(db, {
          type: "bench.funding",
          reference: `${user.id}:${asset}`,
          postings: [
            { account: EXTERNAL_DEPOSITS, asset, amount: -amount },
            { account: userAvailable(user.id), asset, amount },
          ],
        });
      }
      tokens.push((await post("/api/v1/auth/login", { email, password: PASSWORD })).access_token as string);
    }

    console.error(`GET /health (floor), ${TRADERS} connections, ${SECONDS} s…`);
    const floor = await loop(base, TRADERS, () => ({ method: "GET", path: "/health" }));

    console.error(`GET /api/v1/orders?limit=1 (authenticated read, one query), ${SECONDS} s…`);
    const read = await worker.profile("authenticated-read", () =>
      loop(base, TRADERS, (w) => ({
        method: "GET",
        path: "/api/v1/orders?limit=1",
        headers: { authorization: `Bearer ${tokens[w]}` },
      })),
    );

    console.error(`POST /api/v1/orders, ${TRADERS} traders, ${SECONDS} s…`);
    const started = new Date();
    const random = tokens.map((_, i) => mulberry32(1000 + i));
    const orders = await worker.profile("placement", () =>
      loop(base, TRADERS, (w) => {
        const r = random[w]!;
        const side = r() < 0.5 ? "buy" : "sell";
        // Buys at mid−3..mid+2 ticks, sells at mid−2..mid+3: about half of the orders cross.
        const ticks = MID_TICKS + Math.floor(r() * 6) - (side === "buy" ? 3 : 2);
        return {
          method: "POST",
          path: "/api/v1/orders",
          headers: { authorization: `Bearer ${tokens[w]}` },
          body: JSON.stringify({
            market: MARKET,
            side,
            type: "limit",
            price: (ticks / 100).toFixed(2),
            quantity: "0.001",
          }),
        };
      }),
    );

    // Settlement runs after each response; give the last ones a moment, then read the lag.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const lag = await db.execute<{ n: string; p50: string; p95: string; p99: string; max: string }>(sql`
      with l as (
        select extract(epoch from (created_at - executed_at)) * 1000 as ms from trades
        where market = ${MARKET} and executed_at >= ${new Date(started.getTime() + WARMUP_SECONDS * 1000).toISOString()}::timestamptz)
      select count(*)::text as n,
        percentile_cont(0.5) within group (order by ms)::text as p50,
        percentile_cont(0.95) within group (order by ms)::text as p95,
        percentile_cont(0.99) within group (order by ms)::text as p99,
        max(ms)::text as max from l`);
    const settlement = lag.rows[0]!;
    const backlog = await db.execute<{ n: string }>(
      sql`select count(*)::text as n from orders where status = 'pending'`,
    );

    const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    console.log(
      [
        `### Run of ${when} (${TRADERS} traders, ${SECONDS} s per route after ${WARMUP_SECONDS} s warm-up)`,
        "",
        "| route | p50 ms | p95 ms | p99 ms | req/s | requests | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("GET /health (floor)", floor),
        row("GET /api/v1/orders?limit=1 (authenticated read)", read),
        row("POST /api/v1/orders", orders),
        "",
        `Settlement lag, fill in the order book → balances committed (${settlement.n} fills): ` +
          `p50 ${ms(Number(settlement.p50))} ms, p95 ${ms(Number(settlement.p95))} ms, ` +
          `p99 ${ms(Number(settlement.p99))} ms, max ${ms(Number(settlement.max))} ms.`,
        `Orders still pending after the run: ${backlog.rows[0]!.n}.`,
        "",
        `Targets: placement p95 < 100 ms (${orders.p95 < 100 ? "met" : "MISSED"}); ` +
          `settlement lag p95 < 100 ms (${Number(settlement.p95) < 100 ? "met" : "MISSED"}).`,
      ].join("\n"),
    );
  } finally {
    await pool.end().catch(() => {});
    await worker.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
