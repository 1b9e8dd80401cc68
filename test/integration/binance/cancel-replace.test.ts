import { beforeAll, describe, expect, it } from "vitest";
import { createMarket } from "../trading/helpers";
import { binanceClient, binanceError, limitOrder, ok, signedFetch, type BinanceClient } from "./helpers";

interface CancelReplaceData {
  cancelResult: string;
  newOrderResult: string;
  cancelResponse: Record<string, unknown>;
  newOrderResponse: Record<string, unknown> | null;
}

// POST /api/v3/order/cancelReplace: Binance's two modes and its bodies for each outcome.
describe("Binance cancelReplace (/api/v3/order/cancelReplace)", () => {
  let symbol: string;
  let trader: BinanceClient;
  let n = 0;

  const sell = (price: string, extra: Record<string, string> = {}) =>
    limitOrder(symbol, "SELL", price, "0.01", extra);
  const place = async (price: string) => {
    const clientId = `cr-${++n}`;
    await ok(signedFetch(trader, "POST", "/order", sell(price, { newClientOrderId: clientId })));
    return clientId;
  };
  const openIds = async () =>
    (await ok<{ clientOrderId: string }[]>(signedFetch(trader, "GET", "/openOrders", { symbol }))).map(
      (o) => o.clientOrderId,
    );
  const failure = async (params: Record<string, string>, status: number, code: number) => {
    const res = await signedFetch(trader, "POST", "/order/cancelReplace", params);
    const body = (await res.json()) as { code: number; msg: string; data: CancelReplaceData };
    expect({ status: res.status, code: body.code }, JSON.stringify(body)).toEqual({ status, code });
    return body;
  };

  beforeAll(async () => {
    symbol = (await createMarket()).replace("-", "");
    trader = await binanceClient({ BTC: "0.05" });
  });

  it("cancels the order and places the new one (both results SUCCESS)", async () => {
    const old = await place("70000");
    const reply = await ok<CancelReplaceData>(
      signedFetch(
        trader,
        "POST",
        "/order/cancelReplace",
        sell("71000", {
          cancelReplaceMode: "STOP_ON_FAILURE",
          cancelOrigClientOrderId: old,
          cancelNewClientOrderId: "cancel-of-old",
          newClientOrderId: "replacement",
          quantity: "0.02",
        }),
      ),
    );
    expect(reply).toMatchObject({
      cancelResult: "SUCCESS",
      newOrderResult: "SUCCESS",
      cancelResponse: { symbol, origClientOrderId: old, clientOrderId: "cancel-of-old", status: "CANCELED" },
      newOrderResponse: { symbol, clientOrderId: "replacement", status: "NEW", type: "LIMIT", fills: [] },
    });
    expect(Number(reply.newOrderResponse!.origQty)).toBe(0.02);
    expect(await openIds()).toEqual(["replacement"]);
    await ok(signedFetch(trader, "DELETE", "/openOrders", { symbol }));
  });

  it("STOP_ON_FAILURE: a failed cancel places nothing (400, -2022)", async () => {
    const body = await failure(
      sell("72000", { cancelReplaceMode: "STOP_ON_FAILURE", cancelOrderId: "999999999" }),
      400,
      -2022,
    );
    expect(body).toEqual({
      code: -2022,
      msg: "Order cancel-replace failed.",
      data: {
        cancelResult: "FAILURE",
        newOrderResult: "NOT_ATTEMPTED",
        cancelResponse: { code: -2011, msg: "Unknown order sent." },
        newOrderResponse: null,
      },
    });
    expect(await openIds()).toEqual([]);
  });

  it("ALLOW_FAILURE: a failed cancel still places the new order (409, -2021)", async () => {
    const body = await failure(
      sell("72000", { cancelReplaceMode: "ALLOW_FAILURE", cancelOrigClientOrderId: "never-placed" }),
      409,
      -2021,
    );
    expect(body.msg).toBe("Order cancel-replace partially failed.");
    expect(body.data).toMatchObject({
      cancelResult: "FAILURE",
      newOrderResult: "SUCCESS",
      cancelResponse: { code: -2011 },
      newOrderResponse: { symbol, status: "NEW" },
    });
    expect(await openIds()).toHaveLength(1);
    await ok(signedFetch(trader, "DELETE", "/openOrders", { symbol }));
  });

  it("a cancel that succeeds and a placement that fails (409, -2021 in either mode)", async () => {
    const old = await place("73000");
    const body = await failure(
      sell("73000", { cancelReplaceMode: "STOP_ON_FAILURE", cancelOrigClientOrderId: old, quantity: "5" }),
      409,
      -2021,
    );
    expect(body.data).toMatchObject({
      cancelResult: "SUCCESS",
      newOrderResult: "FAILURE",
      cancelResponse: { origClientOrderId: old, status: "CANCELED" },
      newOrderResponse: { code: -2010, msg: "Account has insufficient balance for requested action." },
    });
    expect(await openIds()).toEqual([]);
  });

  it("ALLOW_FAILURE with both steps failing (400, -2022); cancelRestrictions refuse the cancel", async () => {
    const both = await failure(
      sell("74000", { cancelReplaceMode: "ALLOW_FAILURE", cancelOrderId: "999999999", quantity: "5" }),
      400,
      -2022,
    );
    expect(both.data).toMatchObject({
      cancelResult: "FAILURE",
      newOrderResult: "FAILURE",
      cancelResponse: { code: -2011 },
      newOrderResponse: { code: -2010 },
    });
    const old = await place("75000");
    const restricted = await failure(
      sell("75000", {
        cancelReplaceMode: "STOP_ON_FAILURE",
        cancelOrigClientOrderId: old,
        cancelRestrictions: "ONLY_PARTIALLY_FILLED",
      }),
      400,
      -2022,
    );
    expect(restricted.data.cancelResponse).toEqual({
      code: -2011,
      msg: "Order was not canceled due to cancel restrictions.",
    });
    expect(await openIds()).toEqual([old]);
  });

  it("checks its parameters before cancelling anything (-1102, -1100)", async () => {
    const [old] = await openIds();
    await binanceError(
      signedFetch(trader, "POST", "/order/cancelReplace", sell("76000", { cancelOrigClientOrderId: old! })),
      400,
      -1102,
    );
    await binanceError(
      signedFetch(
        trader,
        "POST",
        "/order/cancelReplace",
        sell("76000", { cancelReplaceMode: "STOP_ON_FAILURE" }),
      ),
      400,
      -1102,
    );
    const { price: _, ...noPrice } = sell("76000");
    await binanceError(
      signedFetch(trader, "POST", "/order/cancelReplace", {
        ...noPrice,
        cancelReplaceMode: "STOP_ON_FAILURE",
        cancelOrigClientOrderId: old!,
      }),
      400,
      -1102,
    );
    await binanceError(
      signedFetch(
        trader,
        "POST",
        "/order/cancelReplace",
        sell("76000", { cancelReplaceMode: "SOMETIMES", cancelOrigClientOrderId: old! }),
      ),
      400,
      -1100,
    );
    expect(await openIds()).toEqual([old]);
  });
});
