import type { Exchange } from "ccxt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerUnderTest, type WorkerUnderTest } from "../../bench/lib/worker-under-test";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { binanceAt, ccxtTrader, eventually } from "./binance-ccxt-helpers";

const SYMBOL = "BTC/USDT";

// The Worker bundled as deployed, on a private local stack (started and stopped by this file):
// two ccxt clients trade BTC/USDT against each other through every call a bot makes.
describe("ccxt's binance class against Pandora", () => {
  let worker: WorkerUnderTest;
  let db: ReturnType<typeof openNodeDatabase>;
  let alice: Exchange;
  let bob: Exchange;

  const trader = (name: string, funds: Record<string, bigint>) => ccxtTrader(worker, db, name, funds);

  beforeAll(async () => {
    worker = await startWorkerUnderTest("ccxt");
    db = openNodeDatabase(worker.info.databaseUrl, worker.info.neonWsProxy);
    [alice, bob] = await Promise.all([
      trader("alice", { BTC: 100_000_000n }),
      trader("bob", { USDT: 100_000n * 1_000_000n }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await db?.pool.end();
    await worker?.close();
  });

  it("loads the markets with the right precision and limits", async () => {
    const publicOnly = binanceAt(worker.base);
    const markets = await publicOnly.loadMarkets();
    const m = markets[SYMBOL]!;
    expect(m).toMatchObject({ id: "BTCUSDT", base: "BTC", quote: "USDT", spot: true, active: true });
    expect(m.precision).toMatchObject({ price: 0.01, amount: 0.00001 });
    expect(m.limits.amount).toMatchObject({ min: 0.00001, max: 100 });
    expect(m.limits.price?.min).toBe(0.01);
    expect(m.limits.cost?.min).toBe(5);
    expect(markets["ETH/USDT"]).toBeDefined();
  });

  it("trades between two clients: limit, market buy by cost, market sell, cancels; both see the right balances", async () => {
    const ask = await alice.createOrder(SYMBOL, "limit", "sell", 0.01, 65000);
    expect(ask).toMatchObject({
      symbol: SYMBOL,
      type: "limit",
      side: "sell",
      status: "open",
      price: 65000,
      amount: 0.01,
    });

    const book = await bob.fetchOrderBook(SYMBOL, 5);
    expect(book.asks).toEqual([[65000, 0.01]]);
    expect(book.bids).toEqual([]);

    const buy = await bob.createMarketBuyOrderWithCost(SYMBOL, 325);
    expect(buy).toMatchObject({ status: "closed", filled: 0.005, cost: 325 });
    expect(buy.trades).toHaveLength(1);
    expect(buy.fee).toMatchObject({ currency: "BTC", cost: 0.00001 });

    const bid = await bob.createOrder(SYMBOL, "limit", "buy", 0.002, 64000);
    const sell = await alice.createOrder(SYMBOL, "market", "sell", 0.002);
    expect(sell).toMatchObject({ status: "closed", filled: 0.002, average: 64000 });

    const trades = await bob.fetchTrades(SYMBOL);
    expect(trades.map((t) => [t.price, t.amount, t.side])).toEqual([
      [65000, 0.005, "buy"],
      [64000, 0.002, "sell"],
    ]);
    const ticker = await bob.fetchTicker(SYMBOL);
    expect(ticker).toMatchObject({ symbol: SYMBOL, last: 64000, high: 65000, low: 64000, baseVolume: 0.007 });
    const tickers = await bob.fetchTickers([SYMBOL, "ETH/USDT"]);
    expect(Object.keys(tickers).sort()).toEqual(["BTC/USDT", "ETH/USDT"]);
    const candles = await bob.fetchOHLCV(SYMBOL, "1m");
    expect(candles.length).toBeGreaterThanOrEqual(1);
    expect(candles.at(-1)![4]).toBe(64000);

    // The ask is partly filled (0.005 of 0.01) once settled; the bid is filled.
    const partly = await eventually(
      () => alice.fetchOrder(ask.id!, SYMBOL),
      (o) => o.filled === 0.005,
    );
    expect(partly).toMatchObject({ status: "open", filled: 0.005, remaining: 0.005 });
    expect(
      (
        await eventually(
          () => bob.fetchOrder(bid.id!, SYMBOL),
          (o) => o.status === "closed",
        )
      ).filled,
    ).toBe(0.002);
    expect((await alice.fetchOpenOrders(SYMBOL)).map((o) => o.id)).toEqual([ask.id]);

    const cancelled = await alice.cancelOrder(ask.id!, SYMBOL);
    expect(cancelled).toMatchObject({ id: ask.id, status: "canceled" });
    // ccxt's "closed" is filled; a cancelled order is "canceled" among all orders.
    expect((await alice.fetchClosedOrders(SYMBOL)).map((o) => [o.id, o.status])).toEqual([
      [sell.id, "closed"],
    ]);
    expect((await alice.fetchOrders(SYMBOL)).map((o) => [o.id, o.status])).toEqual([
      [ask.id, "canceled"],
      [sell.id, "closed"],
    ]);

    await bob.createOrder(SYMBOL, "limit", "buy", 0.001, 60000);
    await bob.createOrder(SYMBOL, "limit", "buy", 0.001, 61000);
    expect(await bob.fetchOpenOrders(SYMBOL)).toHaveLength(2);
    await bob.cancelAllOrders(SYMBOL);
    expect(await bob.fetchOpenOrders(SYMBOL)).toEqual([]);

    const aliceTrades = await alice.fetchMyTrades(SYMBOL);
    expect(aliceTrades.map((t) => [t.order, t.side, t.takerOrMaker, t.price, t.amount, t.fee?.cost])).toEqual(
      [
        [ask.id, "sell", "maker", 65000, 0.005, 0.325],
        [sell.id, "sell", "taker", 64000, 0.002, 0.256],
      ],
    );

    // Alice: 1 − 0.005 − 0.002 BTC; 325 − 0.325 + 128 − 0.256 USDT. Bob: 0.005 − 0.00001 +
    // 0.002 − 0.000002 BTC; 100,000 − 325 − 128 USDT, nothing locked after the cancels.
    const balances = async (e: Exchange) => {
      const b = await e.fetchBalance();
      const total = b.total as unknown as Record<string, number | undefined>;
      const used = b.used as unknown as Record<string, number | undefined>;
      return {
        BTC: total.BTC ?? 0,
        USDT: total.USDT ?? 0,
        lockedUSDT: used.USDT ?? 0,
        lockedBTC: used.BTC ?? 0,
      };
    };
    const aliceWants = { BTC: 0.993, USDT: 452.419, lockedUSDT: 0, lockedBTC: 0 };
    const bobWants = { BTC: 0.006988, USDT: 99547, lockedUSDT: 0, lockedBTC: 0 };
    expect(
      await eventually(
        () => balances(alice),
        (b) => JSON.stringify(b) === JSON.stringify(aliceWants),
      ),
    ).toEqual(aliceWants);
    expect(
      await eventually(
        () => balances(bob),
        (b) => JSON.stringify(b) === JSON.stringify(bobWants),
      ),
    ).toEqual(bobWants);
  });

  it("edits an order (cancelReplace), places and cancels an OCO, reads rolling tickers, historical and an order's trades", async () => {
    const bid = await bob.createOrder(SYMBOL, "limit", "buy", 0.001, 60000);
    const edited = await bob.editOrder(bid.id!, SYMBOL, "limit", "buy", 0.002, 60500);
    expect(edited).toMatchObject({ status: "open", price: 60500, amount: 0.002 });
    expect(edited.id).not.toBe(bid.id);
    expect((await bob.fetchOpenOrders(SYMBOL)).map((o) => o.id)).toEqual([edited.id]);
    expect((await bob.fetchOrder(bid.id!, SYMBOL)).status).toBe("canceled");
    await bob.cancelOrder(edited.id!, SYMBOL);

    // ccxt has no unified OCO for spot: its implicit methods sign and send Binance's own call.
    const lists = alice as unknown as {
      privatePostOrderListOco(p: Record<string, string>): Promise<Record<string, unknown>>;
      privateDeleteOrderList(p: Record<string, string>): Promise<Record<string, unknown>>;
    };
    const oco = await lists.privatePostOrderListOco({
      symbol: "BTCUSDT",
      side: "SELL",
      quantity: "0.01",
      aboveType: "LIMIT_MAKER",
      abovePrice: "70000",
      belowType: "STOP_LOSS_LIMIT",
      belowStopPrice: "60000",
      belowPrice: "59900",
      belowTimeInForce: "GTC",
    });
    expect(oco).toMatchObject({ contingencyType: "OCO", listStatusType: "EXEC_STARTED" });
    expect(await alice.fetchOpenOrders(SYMBOL)).toHaveLength(2);
    const done = await lists.privateDeleteOrderList({
      symbol: "BTCUSDT",
      orderListId: String(oco.orderListId),
    });
    expect(done.listStatusType).toBe("ALL_DONE");
    expect(await alice.fetchOpenOrders(SYMBOL)).toEqual([]);

    const rolling = await bob.fetchTicker(SYMBOL, { rolling: true, windowSize: "1h" });
    expect(rolling).toMatchObject({
      symbol: SYMBOL,
      last: 64000,
      high: 65000,
      low: 64000,
      baseVolume: 0.007,
    });
    const rollingMany = await bob.fetchTickers([SYMBOL], { rolling: true });
    expect(rollingMany[SYMBOL]).toMatchObject({ last: 64000 });

    const historical = await bob.fetchTrades(SYMBOL, undefined, undefined, {
      fetchTradesMethod: "publicGetHistoricalTrades",
    });
    expect(historical.map((t) => [t.price, t.amount])).toEqual([
      [65000, 0.005],
      [64000, 0.002],
    ]);
    const [marketSell] = await alice.fetchClosedOrders(SYMBOL);
    const orderTrades = await alice.fetchOrderTrades(marketSell!.id!, SYMBOL);
    expect(orderTrades.map((t) => [t.order, t.price, t.amount])).toEqual([[marketSell!.id, 64000, 0.002]]);
  });
});
