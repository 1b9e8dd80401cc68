import { beforeAll, describe, expect, it } from "vitest";
import { createMarket, settle } from "../trading/helpers";
import {
  binanceClient,
  binanceError,
  limitOrder,
  ok,
  sellOco as sellOcoOf,
  signedFetch,
  type BinanceClient,
} from "./helpers";

interface Report {
  orderId: number;
  orderListId: number;
  clientOrderId: string;
  status: string;
  type: string;
  side: string;
  price: string;
  stopPrice?: string;
}
interface OrderList {
  orderListId: number;
  contingencyType: string;
  listStatusType: string;
  listOrderStatus: string;
  listClientOrderId: string;
  symbol: string;
  orders: { symbol: string; orderId: number; clientOrderId: string }[];
  orderReports?: Report[];
}

// OCO order lists over Pandora's OCO (a limit leg and a stop leg sharing one lock): Binance's
// current form (aboveType/belowType) and the deprecated one, the list queries and the cancel.
describe("Binance OCO order lists (/api/v3/orderList)", () => {
  let market: string;
  let symbol: string;
  let alice: BinanceClient;
  let bob: BinanceClient;

  const sellOco = (extra: Record<string, string> = {}) => sellOcoOf(symbol, extra);

  beforeAll(async () => {
    market = await createMarket();
    symbol = market.replace("-", "");
    [alice, bob] = await Promise.all([binanceClient({ BTC: "1" }), binanceClient({ USDT: "100000" })]);
  });

  it("places a sell OCO (aboveType/belowType), queries it every way, and cancels it", async () => {
    const list = await ok<OrderList>(
      signedFetch(alice, "POST", "/orderList/oco", sellOco({ listClientOrderId: "alice-oco-1" })),
    );
    expect(list).toMatchObject({
      contingencyType: "OCO",
      listStatusType: "EXEC_STARTED",
      listOrderStatus: "EXECUTING",
      listClientOrderId: "alice-oco-1",
      symbol,
    });
    const [stop, limit] = list.orderReports!;
    expect(stop).toMatchObject({ type: "STOP_LOSS_LIMIT", side: "SELL", status: "NEW" });
    expect([Number(stop!.stopPrice), Number(stop!.price)]).toEqual([60000, 59900]);
    expect(limit).toMatchObject({ type: "LIMIT", clientOrderId: "alice-oco-1", status: "NEW" });
    expect(Number(limit!.price)).toBe(70000);
    expect(list.orderListId).toBe(limit!.orderId);
    expect(list.orderReports!.every((r) => r.orderListId === list.orderListId)).toBe(true);
    expect(list.orders.map((o) => o.orderId)).toEqual([stop!.orderId, limit!.orderId]);

    const byId = await ok<OrderList>(
      signedFetch(alice, "GET", "/orderList", { orderListId: String(list.orderListId) }),
    );
    const byClientId = await ok<OrderList>(
      signedFetch(alice, "GET", "/orderList", { origClientOrderId: "alice-oco-1" }),
    );
    for (const found of [byId, byClientId]) {
      expect(found).toMatchObject({ orderListId: list.orderListId, listStatusType: "EXEC_STARTED" });
      expect(found.orders).toEqual(list.orders);
    }
    const open = await ok<OrderList[]>(signedFetch(alice, "GET", "/openOrderList"));
    expect(open.map((l) => l.orderListId)).toEqual([list.orderListId]);
    const openOrders = await ok<Report[]>(signedFetch(alice, "GET", "/openOrders", { symbol }));
    expect(openOrders.map((o) => o.orderListId)).toEqual([list.orderListId, list.orderListId]);
    const stopLeg = await ok<Report>(
      signedFetch(alice, "GET", "/order", { symbol, orderId: String(stop!.orderId) }),
    );
    expect(stopLeg.orderListId).toBe(list.orderListId);

    const cancelled = await ok<OrderList>(
      signedFetch(alice, "DELETE", "/orderList", { symbol, orderListId: String(list.orderListId) }),
    );
    expect(cancelled).toMatchObject({ listStatusType: "ALL_DONE", listOrderStatus: "ALL_DONE" });
    expect(cancelled.orderReports!.map((r) => r.status)).toEqual(["CANCELED", "CANCELED"]);
    expect(await ok<OrderList[]>(signedFetch(alice, "GET", "/openOrderList"))).toEqual([]);
    const all = await ok<OrderList[]>(signedFetch(alice, "GET", "/allOrderList"));
    expect(all.map((l) => [l.orderListId, l.listStatusType])).toEqual([[list.orderListId, "ALL_DONE"]]);
    await binanceError(
      signedFetch(alice, "DELETE", "/orderList", { symbol, listClientOrderId: "alice-oco-1" }),
      400,
      -2011,
    );
  });

  it("places a buy OCO in the deprecated form; a fill of one leg cancels the other", async () => {
    const list = await ok<OrderList>(
      signedFetch(bob, "POST", "/order/oco", {
        symbol,
        side: "BUY",
        quantity: "0.01",
        price: "50000",
        stopPrice: "80000",
        stopLimitPrice: "80100",
        stopLimitTimeInForce: "GTC",
        newOrderRespType: "ACK",
      }),
    );
    expect(list.listStatusType).toBe("EXEC_STARTED");
    expect(list.orderReports![1]).toEqual({
      symbol,
      orderId: list.orderListId,
      orderListId: list.orderListId,
      clientOrderId: list.listClientOrderId,
      transactTime: expect.any(Number),
    });
    await ok(signedFetch(alice, "POST", "/order", limitOrder(symbol, "SELL", "50000")));
    await settle(market);
    const done = await ok<OrderList>(
      signedFetch(bob, "GET", "/orderList", { orderListId: String(list.orderListId) }),
    );
    expect(done.listStatusType).toBe("ALL_DONE");
    const legs = await Promise.all(
      done.orders.map((o) =>
        ok<Report>(signedFetch(bob, "GET", "/order", { symbol, orderId: String(o.orderId) })),
      ),
    );
    expect(legs.map((l) => [l.type, l.status])).toEqual([
      ["STOP_LOSS_LIMIT", expect.stringMatching(/^(CANCELED|EXPIRED)$/)],
      ["LIMIT", "FILLED"],
    ]);
  });

  it("DELETE /openOrders answers an OCO as its order list beside single orders", async () => {
    const trader = await binanceClient({ BTC: "1" });
    const single = await ok<Report>(
      signedFetch(trader, "POST", "/order", limitOrder(symbol, "SELL", "90000")),
    );
    // Below the last trade (50,000): a stop above it would trigger at once.
    const list = await ok<OrderList>(
      signedFetch(
        trader,
        "POST",
        "/orderList/oco",
        sellOco({ abovePrice: "95000", belowStopPrice: "40000", belowPrice: "39900" }),
      ),
    );
    const reply = await ok<(Report & Partial<OrderList>)[]>(
      signedFetch(trader, "DELETE", "/openOrders", { symbol }),
    );
    expect(reply).toHaveLength(2);
    expect(reply[0]).toMatchObject({ orderId: single.orderId, status: "CANCELED", orderListId: -1 });
    expect(reply[1]).toMatchObject({ orderListId: list.orderListId, contingencyType: "OCO" });
    expect(reply[1]!.orderReports!.map((r) => r.status)).toEqual(["CANCELED", "CANCELED"]);
  });

  it("refuses what an OCO cannot be, with Binance's codes", async () => {
    const refuse = (params: Record<string, string>, status: number, code: number, path = "/orderList/oco") =>
      binanceError(signedFetch(alice, "POST", path, params), status, code);
    await refuse(sellOco({ aboveType: "LIMIT" }), 400, -1158);
    await refuse(sellOco({ belowType: "LIMIT_MAKER", belowPrice: "59900" }), 400, -1168);
    await refuse(sellOco({ aboveType: "STOP_LOSS", belowType: "LIMIT_MAKER" }), 400, -1197);
    await refuse(sellOco({ aboveType: "TAKE_PROFIT", belowType: "LIMIT_MAKER" }), 400, -1166);
    await refuse({ ...sellOco(), side: "BUY" }, 400, -1196);
    await refuse(
      { ...sellOco(), side: "BUY", aboveType: "LIMIT_MAKER", belowType: "TAKE_PROFIT" },
      400,
      -1165,
    );
    await refuse(sellOco({ belowType: "TAKE_PROFIT" }), 400, -2010);
    await refuse(sellOco({ aboveIcebergQty: "0.001" }), 400, -1014);
    await refuse(sellOco({ belowTimeInForce: "IOC" }), 400, -1014);
    await refuse(sellOco({ belowClientOrderId: "stop-leg" }), 400, -1106);
    const missing = await refuse(sellOco({ abovePrice: "" }), 400, -1100);
    expect(missing.msg).toContain("abovePrice");
    const { belowStopPrice: _, ...noStop } = sellOco();
    await refuse(noStop, 400, -1102);
    // The limit leg must be above the stop for a sell: the market rules' check (-1014).
    await refuse(sellOco({ abovePrice: "55000" }), 400, -1014);
    await refuse(sellOco({ quantity: "100" }), 400, -2010);
    await refuse(
      { symbol, side: "SELL", quantity: "0.01", price: "70000", stopPrice: "60000", stopLimitPrice: "59900" },
      400,
      -1102,
      "/order/oco",
    );
    await binanceError(signedFetch(alice, "GET", "/orderList", { orderListId: "999999999" }), 400, -2013);
    await binanceError(signedFetch(alice, "GET", "/orderList", {}), 400, -1102);
    await binanceError(signedFetch(alice, "DELETE", "/orderList", { symbol }), 400, -1102);
    await binanceError(
      signedFetch(alice, "DELETE", "/orderList", { symbol, orderListId: "999999999" }),
      400,
      -2011,
    );
  });
});
