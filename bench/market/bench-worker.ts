// The benchmark's helper Worker, run beside the real one in the same workerd (Miniflare):
// it drives the market's object by RPC (as the Worker's order routes will) and hosts the
// floor, an empty Durable Object that only broadcasts.

import { DurableObject } from "cloudflare:workers";
import type { MarketCommand } from "../../src/domain/market/commands";
import type { BookRules } from "../../src/domain/market/market-rules";
import type { OrderBook } from "../../durable-objects/order-book";
import type { StreamHub } from "../../durable-objects/stream-hub/stream-hub";
import { loadCommands } from "./workload";

interface BenchEnv {
  ORDER_BOOK: DurableObjectNamespace<OrderBook>;
  EMPTY: DurableObjectNamespace<EmptyBroadcaster>;
  STREAM_HUB: DurableObjectNamespace<StreamHub>;
  PANDORA: Fetcher;
}

/** The floor: accepts hibernatable sockets and sends one frame to each, nothing else. */
export class EmptyBroadcaster extends DurableObject {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  async broadcast(id: number): Promise<number> {
    const text = JSON.stringify({ type: "trade", channel: "floor", id, ts: Date.now() });
    let n = 0;
    for (const ws of this.ctx.getWebSockets()) {
      ws.send(text);
      n++;
    }
    return n;
  }

  /** The floor plus one durable SQLite write first: what the output gate alone costs. */
  async broadcastAfterWrite(id: number): Promise<number> {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ts INTEGER)");
    sql.exec("INSERT OR REPLACE INTO events (id, ts) VALUES (?, ?)", id, Date.now());
    return this.broadcast(id);
  }

  override async webSocketMessage(): Promise<void> {}
}

const book = (env: BenchEnv, symbol: string) => env.ORDER_BOOK.get(env.ORDER_BOOK.idFromName(symbol));
const floor = (env: BenchEnv) => env.EMPTY.get(env.EMPTY.idFromName("floor"));

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    const q = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
    const symbol = url.searchParams.get("symbol") ?? "BENCH-USDT";
    switch (url.pathname) {
      case "/floor/ws":
        return floor(env).fetch(request);
      case "/floor/broadcast": {
        const n = await floor(env).broadcast(q("id", 0));
        return Response.json({ sent: n });
      }
      case "/floor/broadcast-durable": {
        return Response.json({ sent: await floor(env).broadcastAfterWrite(q("id", 0)) });
      }
      case "/market/configure": {
        const rules = (await request.json()) as BookRules;
        return Response.json(await book(env, rules.symbol).configure(rules));
      }
      case "/market/place": {
        const body = (await request.json()) as MarketCommand | MarketCommand[];
        return Response.json(await book(env, symbol).placeBatch(Array.isArray(body) ? body : [body]));
      }
      case "/hubs/stats": {
        // The hubs the Worker spreads stream connections over (`hub-0` … `hub-<shards - 1>`).
        const hubs = await Promise.all(
          Array.from({ length: q("shards", 16) }, (_, i) =>
            env.STREAM_HUB.get(env.STREAM_HUB.idFromName(`hub-${i}`)).stats(),
          ),
        );
        return Response.json(hubs);
      }
      case "/market/snapshot":
        return Response.json(await book(env, symbol).snapshotNow());
      case "/market/load": {
        // Sends `orders` commands in RPC batches of `batch`, one call after the other.
        const orders = q("orders", 10_000);
        const size = q("batch", 1_000);
        const commands = loadCommands(q("seed", 1), orders, url.searchParams.get("prefix") ?? "L");
        const stub = book(env, symbol);
        let accepted = 0;
        let trades = 0;
        const started = Date.now();
        for (let i = 0; i < commands.length; i += size) {
          const results = await stub.placeBatch(commands.slice(i, i + size));
          for (const r of results) {
            if (r.ok) accepted++;
            if (r.ok && r.fills) trades += r.fills.length;
          }
        }
        return Response.json({
          orders,
          accepted,
          trades,
          workerMs: Date.now() - started,
          ...(await stub.sequence()),
        });
      }
      default:
        return env.PANDORA.fetch(request);
    }
  },
};
