import type { Balances, Exchange, Order } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerUnderTest, type WorkerUnderTest } from "../../bench/lib/worker-under-test";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { binanceAt, ccxtTrader } from "./binance-ccxt-helpers";

const SYMBOL = "BTC/USDT";

/** ccxt.pro's binance with a trader's key, its WebSocket API pointed at the Worker's /ws-api/v3. */
function proClient(base: string, rest: Exchange): Exchange {
  const exchange = binanceAt(base, rest.apiKey, rest.secret, true);
  const ws = (exchange.urls.api as { ws: Record<string, Record<string, string>> }).ws;
  ws["ws-api"]!.spot = `${base.replace(/^http/, "ws")}/ws-api/v3`;
  return exchange;
}

/**
 * Keeps a `watch` call pending (so ccxt stays subscribed and applies each event to its cache)
 * until what `read` takes from that cache passes `done`. An event that lands between two calls
 * resolves nothing but still updates the cache, so the cache is what is checked.
 */
async function watchUntil<T>(
  watch: () => Promise<unknown>,
  read: () => T,
  done: (v: T) => boolean,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    await Promise.race([watch(), new Promise((r) => setTimeout(r, 250))]);
    const v = read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`no matching update in time; last: ${JSON.stringify(v)}`);
  }
}

/** ccxt's cache of an order (its latest state). */
const cachedOrder = (e: Exchange, id: string | undefined): Order | undefined =>
  [...((e.orders as unknown as Order[] | undefined) ?? [])].find((o) => o.id === id);

/** ccxt's cache of the spot balances the stream reported. */
const cachedBalance = (e: Exchange) => ((e.balance as Record<string, unknown>).spot ?? {}) as Balances;

const holds = (b: Balances, asset: string, free: number, used: number) =>
  (b[asset] as { free?: number } | undefined)?.free === free &&
  (b[asset] as { used?: number } | undefined)?.used === used;

// The Worker bundled as deployed, on a private local stack: two ccxt.pro clients place and
// cancel orders over Binance's WebSocket API and watch their own orders and balances there.
describe("ccxt.pro's binance class: orders and user data over /ws-api/v3", () => {
  let worker: WorkerUnderTest;
  let db: ReturnType<typeof openNodeDatabase>;
  let alice: Exchange;
  let bob: Exchange;

  beforeAll(async () => {
    worker = await startWorkerUnderTest("ccxt-user-data");
    db = openNodeDatabase(worker.info.databaseUrl, worker.info.neonWsProxy);
    const [a, b] = await Promise.all([
      ccxtTrader(worker, db, "alice", { BTC: 100_000_000n }),
      ccxtTrader(worker, db, "bob", { USDT: 100_000n * 1_000_000n }),
    ]);
    [alice, bob] = [proClient(worker.base, a), proClient(worker.base, b)];
    // ccxt asks for its HTTP agent before it opens a plain ws:// socket (the local stack's).
    await Promise.all([
      alice.loadMarkets(),
      bob.loadMarkets(),
      alice.loadHttpProxyAgent(),
      bob.loadHttpProxyAgent(),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await db?.pool.end();
    await worker?.close();
  });

  it("createOrderWs / cancelOrderWs between two clients; watchOrders and watchBalance see every change", async () => {
    // Subscribing (userDataStream.subscribe.signature) happens on the first watch.
    const aliceOrders = () => alice.watchOrders(SYMBOL);
    const aliceBalance = () => alice.watchBalance();
    const bobBalance = () => bob.watchBalance();
    void aliceOrders().catch(() => {});
    void bobBalance().catch(() => {});
    await new Promise((r) => setTimeout(r, 1_000));

    const ask = await alice.createOrderWs(SYMBOL, "limit", "sell", 0.01, 65000);
    expect(ask).toMatchObject({ symbol: SYMBOL, type: "limit", side: "sell", status: "open", amount: 0.01 });
    const seen = await watchUntil(
      aliceOrders,
      () => cachedOrder(alice, ask.id),
      (o) => o !== undefined,
    );
    expect(seen).toMatchObject({ status: "open", filled: 0, price: 65000 });

    // Bob's limit buy crosses: 0.005 BTC at 65,000 (325 USDT), his fee 0.00001 BTC, Alice's 0.325 USDT.
    const buy = await bob.createOrderWs(SYMBOL, "limit", "buy", 0.005, 65000);
    expect(buy).toMatchObject({ status: "closed", filled: 0.005 });
    const partly = await watchUntil(
      aliceOrders,
      () => cachedOrder(alice, ask.id),
      (o) => o?.filled === 0.005,
    );
    expect(partly).toMatchObject({ status: "open", filled: 0.005, remaining: 0.005 });
    await watchUntil(
      bobBalance,
      () => cachedBalance(bob),
      (b) => holds(b, "BTC", 0.00499, 0) && holds(b, "USDT", 99675, 0),
    );
    await watchUntil(
      aliceBalance,
      () => cachedBalance(alice),
      (b) => holds(b, "BTC", 0.99, 0.005) && holds(b, "USDT", 324.675, 0),
    );

    const cancelled = await alice.cancelOrderWs(ask.id!, SYMBOL);
    expect(cancelled).toMatchObject({ id: ask.id, status: "canceled" });
    const after = await watchUntil(
      aliceOrders,
      () => cachedOrder(alice, ask.id),
      (o) => o?.status === "canceled",
    );
    expect(after).toMatchObject({ filled: 0.005 });
    await watchUntil(
      aliceBalance,
      () => cachedBalance(alice),
      (b) => holds(b, "BTC", 0.995, 0) && holds(b, "USDT", 324.675, 0),
    );
  });
});
