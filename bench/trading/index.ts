// `npm run bench:trading`: order placement through the whole stack — authentication, market
// rules, the market object (which locks funds in Postgres, matches and journals), settlement by
// the object — against the Worker itself (bundled by wrangler, run by the Miniflare API: no
// `wrangler dev` proxy, no local request tracing) and the local Postgres + Redis stack.
//   1. GET /health (no I/O) at the same concurrency: the floor of this machine and run.
//   2. GET /api/v1/orders?limit=1: an authenticated one-query read.
//   3. POST /api/v1/orders by TRADERS concurrent traders (closed loop), limit orders around one
//      price so about half cross: p50 / p95 / p99 and orders/s.
//   4. POST /api/v1/orders/batch, BATCH orders a request, same traders and prices.
//   5. WebSocket order entry into the same ONE market: TRADERS sockets, each keeping IN_FLIGHT
//      orders outstanding: orders/s and ack p50 / p99.
//   6. The same with `order.batch` frames of WS_BATCH orders (WS_BATCH_IN_FLIGHT frames each).
//   7. Saturation (not judged): order.batch frames with WS_DEEP_IN_FLIGHT frames a socket.
// The socket loads' depth: by Little's law, orders outstanding = orders/s × mean ack latency, so
// a client that keeps N orders outstanding sees N / rate of latency from queueing alone, however
// fast the market is: 20 sockets × 4 frames × 25 (2,000 orders) meant 200 ms at 10,000/s, which
// no market can answer in 100 ms. The judged loads keep 20 × 16 order.place (320 orders: 32 ms at
// 10,000/s) and 20 × 1 frame of 25 (500: 50 ms), depths at which both targets can hold together;
// the deep load shows what the object does when clients queue more than that.
// After each load: settlement lag per fill (the fill's time in the book, trades.executed_at, to
// the commit of its balances, trades.created_at = clock_timestamp() at the end of the
// settlement transaction), and the checks that the load left the money right: no order pending,
// every fill of the book settled exactly once, reconciliation (ledger, locks, fees) clean.
// BENCH_PG_STATEMENTS=1: Postgres' time per statement at each load (./pg-statements.ts).
import { eq, sql } from "drizzle-orm";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { users } from "../../src/db/schema";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../../src/domain/ledger/ledger";
import { pendingEventsQuery } from "../../src/domain/events/event-outbox";
import { reconcile } from "../../src/services/reconciliation";
import { CPU_GROUPS } from "../auth/cpu";
import { closedLoop, type Call, type LoadFigures } from "../auth/load";
import { mulberry32 } from "../engine/prng";
import { BENCH_ADMIN, startWorkerUnderTest } from "../lib/worker-under-test";
import { describeFlushes, flushHistograms } from "./flush-stages";
import { PG_STATEMENTS, pgStatementsWindow } from "./pg-statements";
import { socketLoad } from "./socket-load";

const TRADERS = Number(process.env.BENCH_TRADERS ?? 20);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 16);
/** Orders per `order.batch` frame, and frames each socket keeps in flight then (judged, and deep). */
const WS_BATCH = Number(process.env.BENCH_WS_BATCH ?? 25);
const WS_BATCH_IN_FLIGHT = Number(process.env.BENCH_WS_BATCH_IN_FLIGHT ?? 1);
const WS_DEEP_IN_FLIGHT = Number(process.env.BENCH_WS_DEEP_IN_FLIGHT ?? 4);
const WARMUP_SECONDS = 3;
/**
 * `BENCH_LOADS=read,rest,batch,websocket-place,websocket-batch,websocket-deep`: only these (the
 * floor always runs).
 */
const LOADS = process.env.BENCH_LOADS?.split(",");
const wanted = (load: string) => !LOADS || LOADS.includes(load);
const MARKET = "BTC-USDT";
const MID_TICKS = 6_400_000; // 64,000.00 USDT
const PASSWORD = "benchmark pass phrase";

const loop = (base: string, connections: number, next: (worker: number) => Call) =>
  closedLoop(base, connections, SECONDS, WARMUP_SECONDS, next);

const ms = (n: number) => n.toFixed(1);
/**
 * CPU per order of workerd (its one thread is the market's limit) and of Postgres (the funds
 * lock and settlement): load-independent, unlike orders/s.
 */
const cpuPerOrder = (ms: number | undefined, perRequest: number) =>
  ms === undefined ? "–" : ((ms * 1000) / perRequest).toFixed(0);
const row = (name: string, f: LoadFigures | undefined, perRequest = 1) =>
  f
    ? `| ${name} | ${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${f.rps.toFixed(0)} | ${(f.rps * perRequest).toFixed(0)} | ${f.requests} | ${f.errors} | ${cpuPerOrder(f.workerdCpuMsPerRequest, perRequest)} | ${cpuPerOrder(f.postgresCpuMsPerRequest, perRequest)} |`
    : `| ${name} | not run |`;
/** The machine's CPU per order by process group: at 10,000 orders/s two cores give 200 µs. */
const cpuRow = (name: string, f: LoadFigures | undefined, perRequest = 1) => {
  const groups = f?.cpuByGroupMsPerRequest;
  if (!f || !groups) return `| ${name} | not run |`;
  const cells = [f.cpuMsPerRequest, ...CPU_GROUPS.map((g) => groups[g])];
  return `| ${name} | ${cells.map((c) => cpuPerOrder(c, perRequest)).join(" | ")} |`;
};
const met = (ok: boolean) => (ok ? "met" : "MISSED");

/** A limit order around the mid: buys at mid−3..mid+2 ticks, sells at mid−2..mid+3, half cross. */
function orderAround(r: () => number): Record<string, string> {
  const side = r() < 0.5 ? "buy" : "sell";
  const ticks = MID_TICKS + Math.floor(r() * 6) - (side === "buy" ? 3 : 2);
  return { market: MARKET, side, type: "limit", price: (ticks / 100).toFixed(2), quantity: "0.001" };
}

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
      // Market makers: their own order-entry limits, far above the exchange's default.
      await db
        .update(users)
        .set({ kycStatus: "verified", orderLimitPer10s: 1_000_000_000, orderLimitPerDay: 1_000_000_000 })
        .where(eq(users.id, user.id));
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

    // The admin reads the market object's flush stages (GET /api/v1/admin/metrics) around each load.
    const admin = (await post("/api/v1/auth/login", BENCH_ADMIN)).access_token as string;
    const flushes = async () => {
      const res = await fetch(`${base}/api/v1/admin/metrics`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      return flushHistograms(await res.text(), MARKET);
    };

    console.error(`GET /health (floor), ${TRADERS} connections, ${SECONDS} s…`);
    const floor = await loop(base, TRADERS, () => ({ method: "GET", path: "/health" }));

    const read = wanted("read")
      ? (console.error(`GET /api/v1/orders?limit=1 (authenticated read, one query), ${SECONDS} s…`),
        await worker.profile("authenticated-read", () =>
          loop(base, TRADERS, (w) => ({
            method: "GET",
            path: "/api/v1/orders?limit=1",
            headers: { authorization: `Bearer ${tokens[w]}` },
          })),
        ))
      : undefined;

    const random = tokens.map((_, i) => mulberry32(1000 + i));
    const auth = (w: number) => ({ authorization: `Bearer ${tokens[w]}` });

    /**
     * Runs a load, waits for settlement to drain, and reads what it left behind. `profile`: the
     * name of its CPU profile (with BENCH_PROFILE).
     */
    const phase = async <T extends LoadFigures>(profile: string, name: string, run: () => Promise<T>) => {
      if (!wanted(profile)) return undefined;
      console.error(`${name}…`);
      const from = new Date(Date.now() + WARMUP_SECONDS * 1000);
      const before = await flushes();
      const statements = PG_STATEMENTS ? await pgStatementsWindow(db) : undefined;
      const figures = await worker.profile(profile, run);
      const to = new Date();
      const unpublished = await eventsUnpublished(to);
      if (statements) console.log(await statements.end(profile));
      const stages = describeFlushes(before, await flushes());
      const lag = await settledAfter(from, to);
      // What the book carries into the next load (its heap, which major GCs mark, grows with it).
      const resting = await db.execute<{ n: string }>(
        sql`select count(*)::text as n from orders where market = ${MARKET} and status in ('new', 'partially_filled')`,
      );
      console.error(`orders resting after ${profile}: ${resting.rows[0]!.n}`);
      return { figures, stages, lag: { ...lag, unpublished } };
    };

    /**
     * The domain events not yet on their Redis streams when the load stopped, and the oldest's
     * age: a relay that falls behind defers its work past the measured window, so its cost is
     * missing from the figures (and a sustained load would grow the backlog).
     */
    const eventsUnpublished = async (at: Date) => {
      const row = (await db.execute<{ n: string; oldest: string | null }>(pendingEventsQuery())).rows[0]!;
      const age = row.oldest === null ? 0 : (at.getTime() - new Date(row.oldest).getTime()) / 1000;
      return `${row.n} (${Math.max(0, age).toFixed(1)} s)`;
    };

    /** Waits until every fill the book made is settled, then the lag of the window's fills. */
    const settledAfter = async (from: Date, to: Date) => {
      const deadline = Date.now() + 30_000;
      let trades: { count: number; maxId: number };
      for (;;) {
        const last = (await (await fetch(`${base}/api/v1/markets/${MARKET}/trades?limit=1`)).json()) as {
          trades: { id: string }[];
        };
        const maxId = Number(last.trades[0]?.id.split(":")[1] ?? 0);
        const [{ n }] = (
          await db.execute<{ n: string }>(
            sql`select count(*)::text as n from trades where market = ${MARKET}`,
          )
        ).rows as [{ n: string }];
        trades = { count: Number(n), maxId };
        if (trades.count >= maxId || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const lag = await db.execute<{ n: string; p50: string; p95: string; p99: string; max: string }>(sql`
        with l as (
          select extract(epoch from (created_at - executed_at)) * 1000 as ms from trades
          where market = ${MARKET} and executed_at between ${from.toISOString()}::timestamptz and ${to.toISOString()}::timestamptz)
        select count(*)::text as n,
          percentile_cont(0.5) within group (order by ms)::text as p50,
          percentile_cont(0.95) within group (order by ms)::text as p95,
          percentile_cont(0.99) within group (order by ms)::text as p99,
          max(ms)::text as max from l`);
      const pending = await db.execute<{ n: string }>(
        sql`select count(*)::text as n from orders where status = 'pending'`,
      );
      const report = await reconcile(db);
      return {
        ...lag.rows[0]!,
        pending: Number(pending.rows[0]!.n),
        // Trade ids are the book's sequence (1, 2, …) and unique in Postgres: count = last id
        // means every fill of the book is settled, and settled once.
        settledOnce: trades.count === trades.maxId,
        trades,
        reconciliation: report.ok
          ? "clean"
          : `${report.mismatches.length} mismatches (${[...new Set(report.mismatches.map((m) => m.kind))].join(", ")})`,
      };
    };

    const rest = await phase("rest", `POST /api/v1/orders, ${TRADERS} traders, ${SECONDS} s`, () =>
      loop(base, TRADERS, (w) => ({
        method: "POST",
        path: "/api/v1/orders",
        headers: auth(w),
        body: JSON.stringify(orderAround(random[w]!)),
      })),
    );
    const batch = await phase(
      "batch",
      `POST /api/v1/orders/batch of ${BATCH}, ${TRADERS} traders, ${SECONDS} s`,
      () =>
        loop(base, TRADERS, (w) => ({
          method: "POST",
          path: "/api/v1/orders/batch",
          headers: auth(w),
          body: JSON.stringify({ orders: Array.from({ length: BATCH }, () => orderAround(random[w]!)) }),
        })),
    );
    const sockets = (batch: number, inFlight: number) =>
      socketLoad({
        url: `${base.replace("http", "ws")}/api/v1/ws?market=${MARKET}`,
        tokens,
        inFlight,
        batch,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        order: (s) => {
          const { market: _market, ...order } = orderAround(random[s]!);
          return order;
        },
      });
    const socket = await phase(
      "websocket-place",
      `WebSocket order.place, ${TRADERS} sockets × ${IN_FLIGHT} in flight, ${SECONDS} s`,
      () => sockets(1, IN_FLIGHT),
    );
    const socketBatch = await phase(
      "websocket-batch",
      `WebSocket order.batch of ${WS_BATCH}, ${TRADERS} sockets × ${WS_BATCH_IN_FLIGHT} in flight, ${SECONDS} s`,
      () => sockets(WS_BATCH, WS_BATCH_IN_FLIGHT),
    );
    const socketDeep = await phase(
      "websocket-deep",
      `WebSocket order.batch of ${WS_BATCH}, ${TRADERS} sockets × ${WS_DEEP_IN_FLIGHT} in flight (saturation), ${SECONDS} s`,
      () => sockets(WS_BATCH, WS_DEEP_IN_FLIGHT),
    );
    for (const ran of [socket, socketBatch, socketDeep]) {
      if (ran?.figures.firstError) console.error(`first socket refusal: ${ran.figures.firstError}`);
    }
    // The socket target is met by either way in: one order a frame or batches.
    const bestSocket = [
      socket && { rps: socket.figures.rps, p99: socket.figures.p99, lag: socket.lag },
      socketBatch && {
        rps: socketBatch.figures.rps * WS_BATCH,
        p99: socketBatch.figures.p99,
        lag: socketBatch.lag,
      },
    ]
      .filter((s) => s !== undefined)
      .sort((a, b) => b.rps - a.rps)[0];

    type Lag = NonNullable<typeof rest>["lag"];
    const lagLine = (name: string, l: Lag | undefined) =>
      l
        ? `| ${name} | ${l.n} | ${ms(Number(l.p50))} | ${ms(Number(l.p95))} | ${ms(Number(l.p99))} | ${ms(Number(l.max))} | ${l.pending} | ${l.settledOnce ? "yes" : `no (${l.trades.count} of ${l.trades.maxId})`} | ${l.reconciliation} | ${l.unpublished} |`
        : `| ${name} | not run |`;
    const stagesLine = (name: string, ran: { stages: string } | undefined) =>
      `- ${name}: ${ran ? ran.stages : "not run"}`;
    const readShare = read ? read.rps / floor.rps : NaN;
    const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    console.log(
      [
        `### Run of ${when} (${TRADERS} traders, ${SECONDS} s per load after ${WARMUP_SECONDS} s warm-up)`,
        "",
        "| load | p50 ms | p95 ms | p99 ms | req/s | orders/s | requests | errors | workerd CPU µs/order | Postgres CPU µs/order |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("GET /health (floor)", floor),
        row("GET /api/v1/orders?limit=1 (authenticated read)", read),
        row("POST /api/v1/orders", rest?.figures),
        row(`POST /api/v1/orders/batch (${BATCH} a request)`, batch?.figures, BATCH),
        row(`WebSocket order.place (${TRADERS} sockets, ack latency)`, socket?.figures),
        row(
          `WebSocket order.batch (${WS_BATCH} a frame, ${TRADERS} sockets, ack latency)`,
          socketBatch?.figures,
          WS_BATCH,
        ),
        row(
          `WebSocket order.batch, ${WS_DEEP_IN_FLIGHT} frames a socket (saturation, not judged)`,
          socketDeep?.figures,
          WS_BATCH,
        ),
        "",
        "The machine's CPU per order by process, µs (2 cores at 10,000 orders/s leave 200 µs an order for all of it; stack: its Node supervisor, i.e. the Neon WebSocket proxy, the Neon HTTP endpoint and the Upstash shim; bench: this process, the load's client and Miniflare's Node side; in production only workerd's and Postgres' work exists, on other machines; each figure is whole 10 ms ticks over the load's orders, and a process that exits in the window is counted in its parent's group):",
        "",
        `| load | all | ${CPU_GROUPS.join(" | ")} |`,
        `| --- | ${CPU_GROUPS.map(() => "---:").join(" | ")} | ---: |`,
        cpuRow("POST /api/v1/orders", rest?.figures),
        cpuRow(`POST /api/v1/orders/batch (${BATCH} a request)`, batch?.figures, BATCH),
        cpuRow("WebSocket order.place", socket?.figures),
        cpuRow(`WebSocket order.batch (${WS_BATCH} a frame)`, socketBatch?.figures, WS_BATCH),
        cpuRow("WebSocket saturation", socketDeep?.figures, WS_BATCH),
        "",
        "The market object's order groups (mean; `queue` per call, the rest per group; durable-objects/market/metrics.ts):",
        "",
        stagesLine("REST", rest),
        stagesLine("batch", batch),
        stagesLine("WebSocket order.place", socket),
        stagesLine("WebSocket order.batch", socketBatch),
        stagesLine("WebSocket saturation", socketDeep),
        "",
        "| settlement after | fills | lag p50 ms | p95 ms | p99 ms | max ms | orders pending | every fill settled once | reconciliation | events unpublished at the load's end (oldest) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
        lagLine("REST", rest?.lag),
        lagLine("batch", batch?.lag),
        lagLine("WebSocket order.place", socket?.lag),
        lagLine("WebSocket order.batch", socketBatch?.lag),
        lagLine("WebSocket saturation", socketDeep?.lag),
        "",
        LOADS
          ? `Only ${LOADS.join(", ")} ran (BENCH_LOADS): targets not judged.`
          : `Targets: REST p95 < 50 ms (${met(rest!.figures.p95 < 50)}) and >= 500 orders/s (${met(rest!.figures.rps >= 500)}); ` +
            `WebSocket >= 10,000 orders/s (${met(bestSocket!.rps >= 10_000)}) with ack p99 < 100 ms (${met(bestSocket!.p99 < 100)}); ` +
            `settlement lag p95 < 50 ms at the REST load (${met(Number(rest!.lag.p95) < 50)}) and < 100 ms at the WebSocket load (${met(Number(bestSocket!.lag.p95) < 100)}); ` +
            `authenticated read >= 30% of the floor (${(readShare * 100).toFixed(0)}%: ${met(readShare >= 0.3)}).`,
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
