import type { ExecutionContext as HonoExecutionContext } from "hono";
import { z } from "@hono/zod-openapi";
import { createBinanceRouter } from "../binance-router";
import { requestMetadata } from "../../http/request-metadata";
import { webSocketUpgrade } from "../../lib/websocket-upgrade";
import { WsApiConnection, type Dispatch } from "./connection";

/**
 * `/ws-api/v3`: Binance's WebSocket API (docs/binance-api.md, "WebSocket API"). The Worker holds
 * the socket for the connection's life and answers each request as it comes; `dispatch` runs the
 * REST endpoints a method stands for through the whole app (its middleware included).
 */
export function wsApiRoutes(
  dispatch: (request: Request, env: Env, ctx: HonoExecutionContext) => Promise<Response>,
) {
  const routes = createBinanceRouter();
  routes.get("/ws-api/v3", (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      return c.json({ code: -1100, msg: "Expected a WebSocket upgrade." }, 400);
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    server.accept();
    const ctx = c.executionCtx;
    const run: Dispatch = (request) => dispatch(request, c.env, ctx);
    const connection = new WsApiConnection({
      env: c.env,
      dispatch: run,
      origin: new URL(c.req.url).origin,
      ip: requestMetadata(c).ipAddress,
      returnRateLimits: c.req.query("returnRateLimits") !== "false",
      send: (frame) => {
        try {
          server.send(frame);
        } catch {
          // the client is gone: its close handler ends the connection
        }
      },
      log: c.get("log"),
    });
    server.addEventListener("message", (e) => {
      ctx.waitUntil(connection.onMessage(e.data as string | ArrayBuffer));
    });
    server.addEventListener("close", () => connection.close());
    server.addEventListener("error", () => connection.close());
    return webSocketUpgrade(client);
  });
  routes.openAPIRegistry.registerPath({
    method: "get",
    path: "/ws-api/v3",
    tags: ["Binance-compatible"],
    summary:
      "Binance's WebSocket API: requests {id, method, params}, replies {id, status, result|error, rateLimits}",
    description:
      "Methods: ping, time, exchangeInfo, depth, trades.*, klines, ticker.*, session.logon/status/logout, userDataStream.subscribe(.signature)/unsubscribe, order.place/test/status/cancel/cancelReplace, openOrders.status/cancelAll, allOrders, myTrades, account.status, account.commission, account.rateLimits.orders.",
    request: { query: z.object({ returnRateLimits: z.enum(["true", "false"]).optional() }) },
    responses: {
      101: { description: "Switching protocols" },
      400: { description: "Not a WebSocket upgrade" },
    },
  });
  return routes;
}
