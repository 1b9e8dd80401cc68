import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HUB_UPGRADE_HEADER, type HubUpgrade } from "../../../durable-objects/stream-hub/hub-upgrade";
import { ALL_MARKETS, type HubStream } from "../../../durable-objects/stream-hub/hub-sockets";
import type { AppEnv } from "../../http/app-env";
import { getDb } from "../../http/resources";
import { createRouter } from "../../http/router";
import { badRequest } from "../../lib/errors";
import { marketNotFound } from "../../services/markets";
import { BinanceError } from "../binance-errors";
import { marketSymbol } from "../symbols";
import { MAX_STREAMS, parseStream } from "./stream-names";

/**
 * Hubs a market's subscribers spread over. Each holds up to 32,768 hibernatable sockets, and a
 * market sends one event per hub, so one market reaches up to HUB_SHARDS × 32,768 sockets.
 */
export const HUB_SHARDS = 16;

/** The hub a new connection goes to: at random, so each market's subscribers spread over the hubs. */
const pickHub = () => `hub-${Math.floor(Math.random() * HUB_SHARDS)}`;

/** Checks and resolves the URL's streams, then hands the socket to a hub. */
async function openStreams(c: Context<AppEnv>, names: string[], combined: boolean): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
    throw badRequest("Expected a WebSocket upgrade");
  if (names.length > MAX_STREAMS) throw badRequest(`A connection listens to at most ${MAX_STREAMS} streams`);
  const streams: HubStream[] = [];
  for (const name of names) {
    const parsed = parseStream(name);
    if (!parsed) throw badRequest(`Invalid stream: ${name.slice(0, 64)}`);
    let market = ALL_MARKETS;
    if (parsed.symbol) {
      try {
        market = await marketSymbol(getDb(c), parsed.symbol);
      } catch (err) {
        if (err instanceof BinanceError) throw marketNotFound(parsed.symbol);
        throw err;
      }
    }
    streams.push({ ...parsed, market });
  }
  const hub = pickHub();
  const upgrade: HubUpgrade = { hub, combined, streams };
  const stub = c.env.STREAM_HUB.get(c.env.STREAM_HUB.idFromName(hub));
  return stub.fetch(
    new Request(c.req.url, {
      headers: { Upgrade: "websocket", [HUB_UPGRADE_HEADER]: JSON.stringify(upgrade) },
    }),
  );
}

const upgradeResponses = {
  101: { description: "Switching protocols: Binance's market stream payloads follow" },
  400: { description: "Not an upgrade, or a stream name that is not one" },
  404: { description: "A stream of a symbol no market has" },
};

/**
 * Binance's market streams (docs/binance-api.md, "Market streams"): raw payloads on `/ws/…`,
 * `{"stream","data"}` on `/stream`; SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY and
 * GET_PROPERTY messages on both. `/ws/<n>` (a number) opens a connection with no stream yet,
 * as ccxt does. Listen keys (`/ws/<listenKey>`) are the user data stream's.
 */
export const streamRoutes = createRouter();

streamRoutes.get("/ws/:stream{(?:[^/]*@[^/]*|[0-9]{1,4})}", (c) => {
  const stream = c.req.param("stream");
  return openStreams(c, stream.includes("@") ? [stream] : [], false);
});
streamRoutes.get("/ws", (c) => openStreams(c, [], false));
streamRoutes.get("/stream", (c) => {
  const list = c.req.query("streams");
  return openStreams(c, list ? list.split("/") : [], true);
});

streamRoutes.openAPIRegistry.registerPath({
  method: "get",
  path: "/ws/{stream}",
  tags: ["Binance-compatible"],
  summary:
    "Binance market stream, raw payloads (e.g. btcusdt@depth@100ms); a number opens one with no stream",
  request: { params: z.object({ stream: z.string().openapi({ example: "btcusdt@trade" }) }) },
  responses: upgradeResponses,
});
streamRoutes.openAPIRegistry.registerPath({
  method: "get",
  path: "/ws",
  tags: ["Binance-compatible"],
  summary: "Binance market streams, raw payloads; subscribe with SUBSCRIBE messages",
  responses: upgradeResponses,
});
streamRoutes.openAPIRegistry.registerPath({
  method: "get",
  path: "/stream",
  tags: ["Binance-compatible"],
  summary: 'Binance combined streams: payloads wrapped as {"stream","data"}',
  request: {
    query: z.object({
      streams: z.string().optional().openapi({ example: "btcusdt@trade/ethusdt@depth5" }),
    }),
  },
  responses: upgradeResponses,
});
