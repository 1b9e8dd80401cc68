// The WebSocket API's methods that are a REST endpoint of the Binance face (docs/binance-api.md,
// "WebSocket API"): each runs through that endpoint, so its parameters, rules, weights, errors
// and replies are the REST ones, and an order goes the REST placement path into the market's
// order book object. Session and user-data-stream methods are the connection's own (connection.ts).

/** NONE: public; SIGNED: TRADE and USER_DATA (apiKey + signature, or a logged-on session); USER_STREAM: apiKey only. */
export type Security = "NONE" | "SIGNED" | "USER_STREAM";

export interface RestMethod {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  security: Security;
}

const get = (path: string, security: Security = "NONE"): RestMethod => ({ method: "GET", path, security });
const signed = (method: RestMethod["method"], path: string): RestMethod => ({
  method,
  path,
  security: "SIGNED",
});
const stream = (method: RestMethod["method"]): RestMethod => ({
  method,
  path: "/userDataStream",
  security: "USER_STREAM",
});

export const REST_METHODS: Readonly<Record<string, RestMethod>> = {
  ping: get("/ping"),
  time: get("/time"),
  exchangeInfo: get("/exchangeInfo"),
  depth: get("/depth"),
  "trades.recent": get("/trades"),
  "trades.historical": get("/historicalTrades"),
  "trades.aggregate": get("/aggTrades"),
  klines: get("/klines"),
  uiKlines: get("/uiKlines"),
  avgPrice: get("/avgPrice"),
  "ticker.24hr": get("/ticker/24hr"),
  ticker: get("/ticker"),
  "ticker.price": get("/ticker/price"),
  "ticker.book": get("/ticker/bookTicker"),
  "order.place": signed("POST", "/order"),
  "order.test": signed("POST", "/order/test"),
  "order.status": signed("GET", "/order"),
  "order.cancel": signed("DELETE", "/order"),
  "order.cancelReplace": signed("POST", "/order/cancelReplace"),
  "openOrders.status": signed("GET", "/openOrders"),
  "openOrders.cancelAll": signed("DELETE", "/openOrders"),
  allOrders: signed("GET", "/allOrders"),
  myTrades: signed("GET", "/myTrades"),
  "orderList.place.oco": signed("POST", "/orderList/oco"),
  "orderList.status": signed("GET", "/orderList"),
  "orderList.cancel": signed("DELETE", "/orderList"),
  "openOrderLists.status": signed("GET", "/openOrderList"),
  allOrderLists: signed("GET", "/allOrderList"),
  "account.status": signed("GET", "/account"),
  "account.commission": signed("GET", "/account/commission"),
  "account.rateLimits.orders": signed("GET", "/rateLimit/order"),
  "userDataStream.start": stream("POST"),
  "userDataStream.ping": stream("PUT"),
  "userDataStream.stop": stream("DELETE"),
};
