// `npm run bench:streams`: Binance market streams through the stream hubs against a direct
// market socket, in one run on the Worker itself (workerd through the Miniflare API).
//   1. Fan-out latency, order acceptance in the market's object to receipt, at 1,000
//      subscribers: `/ws/<symbol>@trade` (market → hub objects → clients) beside
//      `/api/v1/ws` `trades:<market>` (the market's own sockets), events alternating.
//   2. How many subscribers one market reaches through the hubs: BENCH_REACH sockets on one
//      market's trade stream, every event received by all of them.
import { demoMarketRules } from "../../scripts/lib/demo-rules";
import { HUB_SHARDS } from "../../src/binance/streams/stream-routes";
import { Clients, loadAverage, percentile, startMarketBench } from "../lib/market-bench";

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const REACH = Number(process.env.BENCH_REACH ?? 5_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 60);
const WARMUP = 10;

/** Seeded markets (the Worker resolves stream symbols in Postgres); their books run without funds here. */
const DIRECT = "ETH-USDT";
const HUBBED = "BTC-USDT";

const directTime = (text: string) =>
  text.includes('"type":"trade"') ? (JSON.parse(text) as { ts: number }).ts : null;
/** Binance's trade payload: `T` is the trade's time, the batch's clock in the object. */
const hubTime = (text: string) =>
  text.includes('"e":"trade"') ? (JSON.parse(text) as { T: number }).T : null;

const fmt = (x: number) => x.toFixed(1);
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
};

async function main() {
  const bench = await startMarketBench();
  try {
    const { wsBase, post, get } = bench;
    console.log(`load average (1/5/15 min) at start: ${loadAverage()}`);
    let taker = 0;
    for (const symbol of [DIRECT, HUBBED]) {
      // Configured by RPC before the Worker sees them: no funds are locked (nothing settles).
      await post("/market/configure", demoMarketRules(symbol));
      const makers = Array.from({ length: 5_000 }, (_, i) => ({
        kind: "place",
        orderId: `${symbol}-mk${i}`,
        userId: "maker",
        side: "sell",
        type: "limit",
        price: "64000.00",
        quantity: "0.00100",
      }));
      await post(`/market/place?symbol=${symbol}`, makers);
      await get(`/market/snapshot?symbol=${symbol}`); // the next one is due 30 s after the first event
    }
    const trade = (symbol: string) => () =>
      post(`/market/place?symbol=${symbol}`, {
        kind: "place",
        orderId: `tk${taker++}`,
        userId: "taker",
        side: "buy",
        type: "market",
        quantity: "0.00100",
      });

    // ---- 1. hub beside direct at SUBSCRIBERS ---------------------------------------------
    console.log(`\n# Fan-out latency at ${SUBSCRIBERS} subscribers, order acceptance to receipt, ms`);
    const direct = await Clients.open(`${wsBase}/api/v1/ws?market=${DIRECT}`, SUBSCRIBERS, directTime, {
      op: "subscribe",
      id: 1,
      channels: [`trades:${DIRECT}`],
    });
    const hubStream = `${wsBase}/ws/${HUBBED.replace("-", "").toLowerCase()}@trade`;
    const hubbed = await Clients.open(hubStream, SUBSCRIBERS, hubTime);
    const lat = { direct: [] as number[], hub: [] as number[] };
    for (let i = 0; i < EVENTS + WARMUP; i++) {
      const d = await direct.event(trade(DIRECT));
      const h = await hubbed.event(trade(HUBBED));
      if (i >= WARMUP) {
        lat.direct.push(...d);
        lat.hub.push(...h);
      }
    }
    direct.close();
    const [d, h] = [summary(lat.direct), summary(lat.hub)];
    console.log("| path | subscribers | events | p50 | p99 |");
    console.log("| --- | --- | --- | --- | --- |");
    console.log(`| direct market socket | ${SUBSCRIBERS} | ${EVENTS} | ${fmt(d.p50)} | ${fmt(d.p99)} |`);
    console.log(`| through the hubs | ${SUBSCRIBERS} | ${EVENTS} | ${fmt(h.p50)} | ${fmt(h.p99)} |`);
    console.log(
      `hub / direct: p50 ${(h.p50 / d.p50).toFixed(2)}x, p99 ${(h.p99 / d.p99).toFixed(2)}x (target: within 1.5x)`,
    );
    console.log(`load average after part 1: ${loadAverage()}`);

    // ---- 2. reach --------------------------------------------------------------------------
    console.log(`\n# One market's trade stream to ${REACH} subscribers through the hubs`);
    const more = await Clients.open(hubStream, REACH - SUBSCRIBERS, hubTime);
    const all = new Clients();
    all.sockets.push(...hubbed.sockets, ...more.sockets);
    for (const ws of more.sockets) ws.removeAllListeners("message");
    for (const ws of all.sockets) {
      ws.removeAllListeners("message");
      ws.on("message", (data) => {
        const at = hubTime(String(data));
        if (at !== null) {
          all.times.push(performance.timeOrigin + performance.now() - at);
          all.received++;
        }
      });
    }
    const reach: number[] = [];
    for (let i = 0; i < 30 + WARMUP; i++) {
      const times = await all.event(trade(HUBBED));
      if (i >= WARMUP) reach.push(...times);
    }
    const r = summary(reach);
    const hubs = (await get(`/hubs/stats?shards=${HUB_SHARDS}`)) as { sockets: number; markets: string[] }[];
    const used = hubs.filter((x) => x.markets.includes(HUBBED));
    console.log(
      `${all.sockets.length} subscribers of one market, every event received by all: p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms`,
    );
    console.log(
      `through ${used.length} hubs (sockets per hub: ${used.map((x) => x.sockets).join(", ")}); the market sends one event per hub`,
    );
    console.log(`load average after part 2: ${loadAverage()}`);
    all.close();
  } finally {
    await bench.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
