import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forwardToAccountStreams } from "../../../src/binance/user-data/forward";
import { withDatabase } from "../../../src/db/client";
import { relayOutbox } from "../../../src/domain/events/event-outbox";
import type { OutboxEntry } from "../../../src/domain/settlement/plan";
import { applySettlementBatch } from "../../../src/domain/settlement/settle-market";
import { createRedis } from "../../../src/http/resources";
import { loadMarketRules, orderBook } from "../../../src/services/trading/market-directory";
import type { Frame } from "../market/ws-client";
import { createMarket } from "../trading/helpers";
import { binanceClient, limitOrder, ok, signedFetch } from "./helpers";
import { event, listenKeyOf, openStream } from "./user-data-helpers";

/**
 * Settles the market's outbox one batch per fill (each batch ends with a trade, so the order's
 * "done" entry lands in the next one) and relays the events after every batch: an order's
 * last fill and its end reach the user data stream in different relay pages.
 */
async function settleSplitAtEveryFill(market: string): Promise<void> {
  await withDatabase(env, async (db) => {
    const rules = await loadMarketRules(db, market, true);
    const { entries } = await orderBook(env, market).readOutbox(0);
    const batches: OutboxEntry[][] = [[]];
    for (const entry of entries as OutboxEntry[]) {
      batches.at(-1)!.push(entry);
      if (entry.kind === "trade") batches.push([]);
    }
    expect(batches.length).toBeGreaterThan(2);
    for (const batch of batches) {
      await applySettlementBatch(db, rules, batch);
      await relayOutbox(db, createRedis(env), 500, { onPublished: forwardToAccountStreams(env) });
    }
  });
}

const tradeReports = (frames: Frame[], orderId: number) =>
  frames.filter((f) => f.e === "executionReport" && f.x === "TRADE" && f.i === orderId);

describe("Binance user data stream: an order's last fill and its end settled apart", () => {
  it("still reports FILLED on the last fill, once per fill: limit, market and quote orders, maker and taker", async () => {
    const market = await createMarket();
    const symbol = market.replace("-", "");
    await orderBook(env, market).setSelfSettling(false);
    const alice = await binanceClient({ BTC: "1" });
    const bob = await binanceClient({ USDT: "100000" });
    const [aliceStream, bobStream] = await Promise.all([
      listenKeyOf(alice).then(openStream),
      listenKeyOf(bob).then(openStream),
    ]);

    // Alice rests 0.014 BTC at 65,000: Bob takes 0.004 with a limit buy and the last 0.01 with a
    // market buy of 650 USDT. Bob rests 0.006 at 64,000: Alice sells into it at market. Every
    // order ends filled, each by a fill that settles before its end does.
    const order = (c: typeof alice, params: Record<string, string>) =>
      ok<{ orderId: number }>(signedFetch(c, "POST", "/order", params));
    const ask = await order(alice, limitOrder(symbol, "SELL", "65000", "0.014"));
    const bobLimit = await order(bob, limitOrder(symbol, "BUY", "65000", "0.004"));
    const bobQuote = await order(bob, { symbol, side: "BUY", type: "MARKET", quoteOrderQty: "650" });
    const bid = await order(bob, limitOrder(symbol, "BUY", "64000", "0.006"));
    const aliceMarket = await order(alice, { symbol, side: "SELL", type: "MARKET", quantity: "0.006" });
    // And a market buy of 1,000 USDT that finds only 0.002 BTC (130 USDT) and expires.
    const last = await order(alice, limitOrder(symbol, "SELL", "65000", "0.002"));
    const expired = await order(bob, { symbol, side: "BUY", type: "MARKET", quoteOrderQty: "1000" });
    await settleSplitAtEveryFill(market);

    const expected: [typeof aliceStream, number, string[][]][] = [
      // Alice's ask: two fills, the last one FILLED; every other order: one fill, FILLED.
      [
        aliceStream,
        ask.orderId,
        [
          ["PARTIALLY_FILLED", "0.00400000"],
          ["FILLED", "0.01400000"],
        ],
      ],
      [aliceStream, aliceMarket.orderId, [["FILLED", "0.00600000"]]],
      [bobStream, bobLimit.orderId, [["FILLED", "0.00400000"]]],
      [bobStream, bobQuote.orderId, [["FILLED", "0.01000000"]]],
      [bobStream, bid.orderId, [["FILLED", "0.00600000"]]],
      [aliceStream, last.orderId, [["FILLED", "0.00200000"]]],
    ];
    for (const [stream, orderId, reports] of expected) {
      await stream
        .until(() => tradeReports(stream.frames, orderId).some((f) => f.X === "FILLED"), 10_000)
        .catch(() => {});
      expect(tradeReports(stream.frames, orderId).map((f) => [f.X, f.z])).toEqual(reports);
    }
    const end = await bobStream.next(
      event("executionReport", (f) => f.i === expired.orderId && f.x === "EXPIRED"),
      0,
      10_000,
    );
    expect(end).toMatchObject({ X: "EXPIRED", z: "0.00200000", Z: "130.000000" });
    expect(tradeReports(bobStream.frames, expired.orderId).map((f) => [f.X, f.z])).toEqual([
      ["PARTIALLY_FILLED", "0.00200000"],
    ]);
    aliceStream.close();
    bobStream.close();
  });
});
