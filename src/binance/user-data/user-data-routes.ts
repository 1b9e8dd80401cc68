import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { SOCKET_HEADER, USER_HEADER } from "../../../durable-objects/account-stream/account-stream-protocol";
import { userOfListenKey } from "../../../durable-objects/account-stream/listen-key";
import type { AppEnv } from "../../http/app-env";
import { getDb } from "../../http/resources";
import { requestMetadata } from "../../http/request-metadata";
import { BinanceError } from "../binance-errors";
import { binanceRoute } from "../openapi";
import { binanceParams } from "../params";
import { createBinanceRouter } from "../binance-router";
import { accountStream } from "./account-streams";
import { userStreamOwner } from "./user-stream-key";

const ListenKeyParams = z.object({
  listenKey: z
    .string()
    .regex(/^[A-Za-z0-9]{60}$/)
    .openapi({ example: "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1" }),
});

/** Binance takes `listenKey` from the query string or a form body: both are read (binanceParams). */
const LISTEN_KEY_PARAM =
  "USER_STREAM security (`X-MBX-APIKEY` only). `listenKey` in the query string or a form body.";

const unknownListenKey = () => new BinanceError(400, -1125, "This listenKey does not exist.");

/** The caller's user id by its API key alone (USER_STREAM: no signature). */
const owner = (c: Context<AppEnv>) =>
  userStreamOwner(getDb(c), c.req.header("x-mbx-apikey"), requestMetadata(c).ipAddress);

/** The listen key named in the parameters, when it is the caller's own and still valid. */
async function ownListenKey(c: Context<AppEnv>): Promise<{ userId: string; listenKey: string }> {
  const userId = await owner(c);
  const { listenKey } = await binanceParams(c, ListenKeyParams);
  if (userOfListenKey(listenKey) !== userId) throw unknownListenKey();
  return { userId, listenKey };
}

/**
 * Binance's listen-key user data stream (docs/binance-api.md, "User data stream"): a key that
 * lives 60 minutes after its last keep-alive, and `/ws/<listenKey>` carrying the account's
 * `executionReport`, `outboundAccountPosition` and `balanceUpdate` events of every market and of
 * the wallet. The key and the sockets live in the user's AccountStream object.
 */
export const userDataRoutes = createBinanceRouter()
  .openapi(
    binanceRoute({
      method: "post",
      path: "/userDataStream",
      summary: "Start (or extend) my user data stream: its listen key, valid 60 minutes",
      description: "USER_STREAM security: `X-MBX-APIKEY` only. An account has one listen key at a time.",
      weight: 2,
    }),
    async (c) => {
      const userId = await owner(c);
      return c.json({ listenKey: await accountStream(c.env, userId).startListenKey(userId) }, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "put",
      path: "/userDataStream",
      summary: "Keep my listen key alive for another 60 minutes",
      description: LISTEN_KEY_PARAM,
      weight: 2,
    }),
    async (c) => {
      const { userId, listenKey } = await ownListenKey(c);
      if (!(await accountStream(c.env, userId).keepAlive(listenKey))) throw unknownListenKey();
      return c.json({}, 200);
    },
  )
  .openapi(
    binanceRoute({
      method: "delete",
      path: "/userDataStream",
      summary: "Close my user data stream (its sockets close)",
      description: LISTEN_KEY_PARAM,
      weight: 2,
    }),
    async (c) => {
      const { userId, listenKey } = await ownListenKey(c);
      if (!(await accountStream(c.env, userId).closeListenKey(listenKey))) throw unknownListenKey();
      return c.json({}, 200);
    },
  );

/** `/ws/<listenKey>`: the raw user data stream (a 60-alphanumeric path; market streams have `@`). */
userDataRoutes.get("/ws/:listenKey{[A-Za-z0-9]{60}}", (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.json({ code: -1100, msg: "Expected a WebSocket upgrade." }, 400);
  }
  const listenKey = c.req.param("listenKey");
  const userId = userOfListenKey(listenKey);
  if (!userId) return c.json({ code: -1125, msg: "This listenKey does not exist." }, 400);
  const headers = new Headers({
    Upgrade: "websocket",
    [SOCKET_HEADER]: `listen:${listenKey}`,
    [USER_HEADER]: userId,
  });
  return accountStream(c.env, userId).fetch(new Request(c.req.url, { headers }));
});

userDataRoutes.openAPIRegistry.registerPath({
  method: "get",
  path: "/ws/{listenKey}",
  tags: ["Binance-compatible"],
  summary: "My user data stream (WebSocket): executionReport, outboundAccountPosition, balanceUpdate",
  request: { params: ListenKeyParams },
  responses: {
    101: { description: "Switching protocols: the stream's events follow, one per frame" },
    400: { description: "Not a WebSocket upgrade, or not a listen key" },
    404: { description: "The listen key is unknown or expired" },
  },
});
