// `npm run bench:market`: the market's Durable Object measured against the Worker itself
// (workerd through the Miniflare API: no `wrangler dev` proxy, no local request tracing).
//   1. Orders per second into one market through batched RPC with durable journaling.
//   2. Fan-out latency from order acceptance to receipt at 10, 100 and 1,000 WebSocket
//      subscribers, beside a bare broadcast from an empty Durable Object in the same run.
import { demoMarketRules } from "../../scripts/lib/demo-rules";
import { Clients, loadAverage, percentile, startMarketBench } from "../lib/market-bench";

const SIZES = (process.env.BENCH_SIZES ?? "10,100,1000").split(",").map(Number);
const LOAD_ORDERS = Number(process.env.BENCH_ORDERS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1_000);
const RUNS = 3;

const rules = (symbol: string) => demoMarketRules(symbol);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `ts` of a `trade` frame: the object's clock when the request reached it (workerd's clock
 * stands still during a request): acceptance of the order, or the floor's broadcast call. */
const tradeTime = (text: string) =>
  text.includes('"type":"trade"') ? (JSON.parse(text) as { ts: number }).ts : null;

async function main() {
  const bench = await startMarketBench();
  try {
    const { wsBase, post, get } = bench;
    // Other work on a shared VM shows in the tails: print the load beside the figures.
    console.log(`load average (1/5/15 min) at start: ${loadAverage()}`);

    // ---- 1. fan-out -----------------------------------------------------------------------
    console.log("\n# Fan-out latency, order acceptance in the object to receipt at every client, ms");
    await post("/market/configure", rules("FAN-USDT"));
    const makers = Array.from({ length: 5_000 }, (_, i) => ({
      kind: "place",
      orderId: `mk${i}`,
      userId: "maker",
      side: "sell",
      type: "limit",
      price: "64000.00",
      quantity: "0.00100",
    }));
    await post("/market/place?symbol=FAN-USDT", makers);
    await get("/market/snapshot?symbol=FAN-USDT"); // the next one is due 30 s after the first event
    let taker = 0;
    const rows: string[] = [];
    for (const n of SIZES) {
      const events = n >= 1000 ? 60 : 300;
      const market = await Clients.open(`${wsBase}/api/v1/ws?market=FAN-USDT`, n, tradeTime, {
        op: "subscribe",
        id: 1,
        channels: ["trades:FAN-USDT"],
      });
      const floor = await Clients.open(`${wsBase}/floor/ws`, n, tradeTime);
      const lat = { market: [] as number[], floor: [] as number[], durable: [] as number[] };
      const placeTaker = () =>
        post("/market/place?symbol=FAN-USDT", {
          kind: "place",
          orderId: `tk${taker++}`,
          userId: "taker",
          side: "buy",
          type: "market",
          quantity: "0.00100",
        });
      for (let i = 0; i < events + 10; i++) {
        const f = await floor.event(() => get(`/floor/broadcast?id=${i}`));
        const d = await floor.event(() => get(`/floor/broadcast-durable?id=${i}`));
        const m = await market.event(placeTaker);
        if (i >= 10) {
          lat.floor.push(...f);
          lat.durable.push(...d);
          lat.market.push(...m);
        }
      }
      market.close();
      floor.close();
      const s = {
        market: lat.market.sort((a, b) => a - b),
        floor: lat.floor.sort((a, b) => a - b),
        durable: lat.durable.sort((a, b) => a - b),
      };
      const fmt = (x: number) => x.toFixed(1);
      const p99ratio = percentile(s.market, 99) / percentile(s.floor, 99);
      const row = `| ${n} | ${fmt(percentile(s.market, 50))} | ${fmt(percentile(s.market, 99))} | ${fmt(percentile(s.floor, 50))} | ${fmt(percentile(s.floor, 99))} | ${p99ratio.toFixed(2)}x | ${fmt(percentile(s.durable, 50))} | ${fmt(percentile(s.durable, 99))} |`;
      rows.push(row);
      console.log(`${n} subscribers x ${events} events: ${row}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    console.log(
      "\n| subscribers | market p50 | market p99 | floor p50 | floor p99 | p99 / floor | floor + 1 durable write p50 | p99 |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const r of rows) console.log(r);
    console.log(`load average after the fan-out: ${loadAverage()}`);

    // ---- 2. throughput (after the fan-out, so its large book never runs beside it) --------------------------------------------------------------------
    console.log(`\n# Orders per second into one market (${LOAD_ORDERS} commands, RPC batches of ${BATCH})`);
    await post("/market/configure", rules("LOAD-USDT"));
    await get(`/market/load?symbol=LOAD-USDT&orders=5000&batch=${BATCH}&prefix=W&seed=99`); // warm-up
    const rates: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const started = performance.now();
      const r = (await get(
        `/market/load?symbol=LOAD-USDT&orders=${LOAD_ORDERS}&batch=${BATCH}&prefix=R${run}-&seed=${run}`,
      )) as { accepted: number; trades: number; orderCount: number; journalSeq: number };
      const seconds = (performance.now() - started) / 1000;
      rates.push(LOAD_ORDERS / seconds);
      console.log(
        `run ${run}: ${Math.round(LOAD_ORDERS / seconds)} commands/s (${r.accepted} ok, ${r.trades} fills, ${r.orderCount} resting, journal ${r.journalSeq})`,
      );
    }
    await post("/market/configure", rules("ONE-USDT"));
    const singles = 2_000;
    const t1 = performance.now();
    await get(`/market/load?symbol=ONE-USDT&orders=${singles}&batch=1&prefix=S&seed=5`);
    const singleRate = singles / ((performance.now() - t1) / 1000);
    console.log(
      `median: ${Math.round(median(rates))} commands/s batched; ${Math.round(singleRate)}/s one command per RPC`,
    );
  } finally {
    await bench.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
