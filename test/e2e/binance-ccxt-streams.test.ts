import type { Exchange, OHLCV, OrderBook } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerUnderTest, type WorkerUnderTest } from "../../bench/lib/worker-under-test";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { binanceAt, ccxtTrader } from "./binance-ccxt-helpers";

const SYMBOL = "BTC/USDT";

interface RestDepth {
  lastUpdateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for `done`, polling every 50 ms, up to 20 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ccxt.pro's `binance` class pointed at the Worker by URL only (its REST URLs and `urls.api.ws`):
// it opens /ws/<n>, subscribes with SUBSCRIBE messages and syncs its book with GET /api/v3/depth
// as Binance documents, while two REST clients trade BTC/USDT.
describe("ccxt.pro's binance class on Pandora's market streams", () => {
  let worker: WorkerUnderTest;
  let db: ReturnType<typeof openNodeDatabase>;
  let alice: Exchange;
  let bob: Exchange;
  let watcher: Exchange;

  const restDepth = async (): Promise<RestDepth> =>
    (await (await fetch(`${worker.base}/api/v3/depth?symbol=BTCUSDT&limit=1000`)).json()) as RestDepth;

  beforeAll(async () => {
    worker = await startWorkerUnderTest("ccxt-streams");
    db = openNodeDatabase(worker.info.databaseUrl, worker.info.neonWsProxy);
    [alice, bob] = await Promise.all([
      ccxtTrader(worker, db, "alice", { BTC: 100_000_000n }),
      ccxtTrader(worker, db, "bob", { USDT: 100_000n * 1_000_000n }),
    ]);
    watcher = binanceAt(worker.base, undefined, undefined, true);
    // ccxt in Node opens a plain ws:// URL (the local Worker; production is wss://) only with
    // the http agent it loads here.
    await watcher.loadHttpProxyAgent();
    await watcher.loadMarkets();
  }, 180_000);

  afterAll(async () => {
    await watcher?.close();
    await db?.pool.end();
    await worker?.close();
  });

  it("watchOrderBook stays in sync through many updates and equals GET /api/v3/depth afterwards", async () => {
    let book: OrderBook | null = null;
    let updates = 0;
    let failure: unknown = null;
    let stop = false;
    const watching = (async () => {
      try {
        while (!stop) {
          book = await watcher.watchOrderBook(SYMBOL);
          updates++;
        }
      } catch (err) {
        failure = err;
      }
    })();
    await until(() => book !== null || failure !== null, "the first order book");

    // Resting orders on both sides, some crossing (trades), some cancelled. The stream pushes at
    // most one update a 100 ms (`@100ms`), so "many updates" needs the orders to take seconds: 30
    // rounds took just 2 s once the order path got faster (exactly 20 updates, CI 2026-12-07).
    const open: { exchange: Exchange; id: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const ask = await alice.createOrder(
        SYMBOL,
        "limit",
        "sell",
        0.001 * (1 + (i % 4)),
        65_000 + 10 * (i % 12),
      );
      const bid = await bob.createOrder(SYMBOL, "limit", "buy", 0.001 * (1 + (i % 3)), 64_900 - 10 * (i % 9));
      open.push({ exchange: alice, id: String(ask.id) }, { exchange: bob, id: String(bid.id) });
      if (i % 5 === 4) await bob.createOrder(SYMBOL, "limit", "buy", 0.002, 65_020); // takes asks
      if (i % 7 === 6) {
        const gone = open.splice(i % open.length, 1)[0]!;
        await gone.exchange.cancelOrder(gone.id, SYMBOL).catch(() => {}); // it may have filled
      }
    }
    const rest = await restDepth();
    await until(
      () => failure !== null || (book?.nonce ?? 0) >= rest.lastUpdateId,
      `the stream to reach update ${rest.lastUpdateId}`,
    );
    stop = true;
    expect(failure).toBeNull();
    expect(updates).toBeGreaterThan(20);
    const synced = book!;
    expect(synced.nonce).toBe(rest.lastUpdateId);
    expect(synced.bids).toEqual(rest.bids.map(([p, q]) => [Number(p), Number(q)]));
    expect(synced.asks).toEqual(rest.asks.map(([p, q]) => [Number(p), Number(q)]));
    // One more update ends the loop's pending watch.
    await alice.createOrder(SYMBOL, "limit", "sell", 0.001, 66_000);
    await watching;
  });

  it("watchTrades, watchTicker and watchOHLCV see a trade", async () => {
    const trades = watcher.watchTrades(SYMBOL);
    const ticker = watcher.watchTicker(SYMBOL);
    const candles = watcher.watchOHLCV(SYMBOL, "1m");
    await new Promise((r) => setTimeout(r, 500)); // the subscriptions reach the hub first
    // Inside the spread the first test left (bids up to 64,900, asks from 65,000).
    await alice.createOrder(SYMBOL, "limit", "sell", 0.003, 64_950);
    await bob.createOrder(SYMBOL, "limit", "buy", 0.003, 64_950);

    const [trade] = (await trades).slice(-1);
    expect(trade).toMatchObject({ symbol: SYMBOL, price: 64_950, amount: 0.003, side: "buy" });
    // A subscription first gets the stream's current state (the ticker and candle before the
    // trade), which may resolve the first watch; the trade's update follows. ccxt keeps what
    // its streams delivered in `tickers` / `ohlcvs`, so an update that came between two
    // watches is read there.
    await Promise.all([ticker, candles]);
    const latest = async <T>(
      watch: () => Promise<T>,
      cached: () => T | undefined,
      done: (v: T) => boolean,
    ) => {
      for (let v = cached(); ; v = await Promise.race([watch(), sleep(250).then(cached)]))
        if (v !== undefined && done(v)) return v;
    };
    const t = await latest(
      () => watcher.watchTicker(SYMBOL),
      () => watcher.tickers[SYMBOL],
      (x) => x.last === 64_950,
    );
    expect(t).toMatchObject({ symbol: SYMBOL, last: 64_950, close: 64_950 });
    expect(t.baseVolume).toBeGreaterThan(0);
    const ohlcv = await latest(
      () => watcher.watchOHLCV(SYMBOL, "1m"),
      () => (watcher.ohlcvs as Record<string, Record<string, OHLCV[]>>)[SYMBOL]?.["1m"],
      (x) => x.at(-1)?.[4] === 64_950,
    );
    const [start, , high, low, close, volume] = ohlcv.at(-1)!;
    expect(start! % 60_000).toBe(0);
    expect(close).toBe(64_950);
    expect(high).toBeGreaterThanOrEqual(64_950);
    expect(low).toBeLessThanOrEqual(64_950);
    expect(volume).toBeGreaterThan(0);
  });
});
