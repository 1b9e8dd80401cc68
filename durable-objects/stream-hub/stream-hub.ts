import { DurableObject } from "cloudflare:workers";
import { withDatabase } from "../../src/db/client";
import { describeError, Logger, parseLogLevel } from "../../src/lib/logger";
import { webSocketUpgrade } from "../../src/lib/websocket-upgrade";
import {
  errorReply,
  parseControl,
  resultReply,
  type ControlMessage,
} from "../../src/binance/streams/control-messages";
import { parseStream } from "../../src/binance/streams/stream-names";
import { BinanceError } from "../../src/binance/binance-errors";
import { marketSymbol } from "../../src/binance/symbols";
import { withBook } from "../../src/services/markets";
import { loadAllMarketRules } from "../../src/services/trading/market-directory";
import { ALL_MARKETS, HubSockets, type HubStream } from "./hub-sockets";
import { HUB_UPGRADE_HEADER, type HubUpgrade } from "./hub-upgrade";
import type { MarketStreamEvent, MarketStreamState } from "./market-event";
import { MarketFeed } from "./market-feed";
import { PushWindow } from "./push-window";

/**
 * A stream hub: holds Binance market-stream client sockets (hibernation API) of any markets and
 * receives each market's events once, from the market's object (MarketPublisher), to fan them
 * out as Binance payloads. The Worker spreads connections over many hubs, so a market reaches
 * (hubs × sockets per hub) subscribers while its own object sends one event per hub.
 */
export class StreamHub extends DurableObject<Env> {
  private readonly sockets: HubSockets;
  private readonly feeds = new Map<string, MarketFeed>();
  /** Markets that feed this hub (as far as this incarnation knows). */
  private readonly attached = new Set<string>();
  private readonly log: Logger;
  private name: string | null;
  /** The all-market streams: the markets whose ticker changed within the second. */
  private readonly allTickers: PushWindow<Set<MarketFeed>>;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS hub_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.name =
      sql.exec<{ value: string }>("SELECT value FROM hub_meta WHERE key = 'name'").toArray()[0]?.value ??
      null;
    this.sockets = new HubSockets(ctx, sql);
    this.log = new Logger(parseLogLevel(env.LOG_LEVEL), { component: "stream-hub" });
    this.allTickers = new PushWindow(
      1000,
      (feeds) => this.sendAllTickers([...feeds]),
      (a, b) => new Set([...a, ...b]),
    );
  }

  /** A market's events (MarketPublisher); false when no socket here reads the market any more. */
  async publish(event: MarketStreamEvent): Promise<boolean> {
    const wanted = this.sockets.wants(event.symbol);
    if (!wanted) {
      this.attached.delete(event.symbol);
      this.feeds.get(event.symbol)?.close();
      this.feeds.delete(event.symbol);
      return false;
    }
    this.attached.add(event.symbol);
    this.feedOf(event.symbol).apply(event, Date.now());
    return true;
  }

  /** Frames this hub sent since it started (benchmarks). */
  async stats(): Promise<{ sockets: number; framesSent: number; markets: string[] }> {
    return {
      sockets: this.ctx.getWebSockets().length,
      framesSent: this.sockets.framesSent,
      markets: [...this.attached],
    };
  }

  override async fetch(request: Request): Promise<Response> {
    let upgrade: HubUpgrade;
    try {
      upgrade = JSON.parse(request.headers.get(HUB_UPGRADE_HEADER) ?? "") as HubUpgrade;
    } catch {
      return new Response("Expected an upgrade from the Worker", { status: 400 });
    }
    if (this.name !== upgrade.hub) {
      this.name = upgrade.hub;
      this.ctx.storage.sql.exec(
        "INSERT OR REPLACE INTO hub_meta (key, value) VALUES ('name', ?)",
        upgrade.hub,
      );
    }
    const pair = new WebSocketPair();
    const ws = pair[1];
    this.sockets.accept(ws, upgrade.combined);
    await this.subscribe(ws, upgrade.streams, null);
    return webSocketUpgrade(pair[0]);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    if (!this.sockets.inbound(ws, Date.now())) {
      this.sockets.drop(ws);
      try {
        ws.close(1008, "Too many messages");
      } catch {}
      return;
    }
    const parsed = parseControl(data);
    if (!parsed.ok) {
      this.sockets.sendText(ws, parsed.reply);
      return;
    }
    try {
      const reply = await this.handle(ws, parsed.message);
      if (reply) this.sockets.sendText(ws, reply);
    } catch (err) {
      this.log.warn("stream request failed", describeError(err));
      this.sockets.sendText(
        ws,
        errorReply(2, "Invalid request: the server could not handle it", parsed.message.id),
      );
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.sockets.drop(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.sockets.drop(ws);
  }

  /** The reply to a control message; null when it was sent already. */
  private async handle(ws: WebSocket, m: ControlMessage): Promise<string | null> {
    switch (m.method) {
      case "SUBSCRIBE": {
        const streams = await this.resolve(m.params);
        if (!streams) return errorReply(2, "Invalid request: invalid stream", m.id);
        if (!this.sockets.fits(ws, streams))
          return errorReply(2, "Invalid request: a connection listens to at most 1024 streams", m.id);
        await this.subscribe(ws, streams, resultReply(m.id));
        return null;
      }
      case "UNSUBSCRIBE":
        this.sockets.unsubscribe(
          ws,
          m.params.map((p) => parseStream(p)?.name ?? p),
        );
        return resultReply(m.id);
      case "LIST_SUBSCRIPTIONS":
        return resultReply(m.id, this.sockets.list(ws));
      case "SET_PROPERTY":
        this.sockets.setCombined(ws, m.value);
        return resultReply(m.id);
      case "GET_PROPERTY":
        return resultReply(m.id, this.sockets.combined(ws));
    }
  }

  /** Stream names as the hub keeps them, with their markets; null when any is not a stream of a market here. */
  private async resolve(names: readonly string[]): Promise<HubStream[] | null> {
    const parsed = names.map(parseStream);
    if (parsed.some((p) => p === null)) return null;
    try {
      return await withDatabase(this.env, async (db) => {
        const out: HubStream[] = [];
        for (const p of parsed) {
          out.push({ ...p!, market: p!.symbol ? await marketSymbol(db, p!.symbol) : ALL_MARKETS });
        }
        return out;
      });
    } catch (err) {
      if (err instanceof BinanceError) return null; // -1121: a symbol no market has
      throw err;
    }
  }

  /**
   * Attaches to the streams' markets, records the streams, sends `reply` (if any), then each new
   * stream's current state: data never precedes the reply to its SUBSCRIBE.
   */
  private async subscribe(ws: WebSocket, streams: HubStream[], reply: string | null): Promise<void> {
    const markets = new Set(streams.filter((x) => x.market !== ALL_MARKETS).map((x) => x.market));
    if (streams.some((x) => x.market === ALL_MARKETS))
      for (const m of await this.allMarketSymbols()) markets.add(m);
    await Promise.all(
      [...markets].filter((m) => !this.feeds.has(m) || !this.attached.has(m)).map((m) => this.attach(m)),
    );
    const added = this.sockets.subscribe(ws, streams);
    if (reply) this.sockets.sendText(ws, reply);
    const now = Date.now();
    for (const x of added) {
      if (x.market === ALL_MARKETS) {
        this.sendAllTickersTo(ws, x);
        continue;
      }
      const current = this.feeds.get(x.market)?.current(x, now);
      if (current) this.sockets.sendTo(ws, x.name, current);
    }
  }

  private async attach(market: string): Promise<void> {
    if (!this.name) throw new Error("hub without a name");
    const hub = this.name;
    const state = await withDatabase(this.env, (db) =>
      withBook(
        this.env,
        () => db,
        market,
        (book) => book.attachStreamHub(hub) as Promise<MarketStreamState | null>,
      ),
    );
    this.attached.add(market);
    this.feedOf(market).init(state);
  }

  private async allMarketSymbols(): Promise<string[]> {
    return withDatabase(this.env, async (db) => (await loadAllMarketRules(db)).map((r) => r.symbol));
  }

  private feedOf(market: string): MarketFeed {
    let feed = this.feeds.get(market);
    if (!feed) {
      feed = new MarketFeed(market, this.sockets, (f) => {
        if (this.sockets.wants(ALL_MARKETS)) this.allTickers.push(new Set([f]), Date.now());
      });
      this.feeds.set(market, feed);
    }
    return feed;
  }

  private sendAllTickers(feeds: MarketFeed[]): void {
    const now = Date.now();
    const tickers = feeds.map((f) => f.tickerNow(now)).filter((t) => t !== null);
    const minis = feeds.map((f) => f.miniTickerNow(now)).filter((t) => t !== null);
    if (tickers.length) this.sockets.broadcast("!ticker@arr", tickers);
    if (minis.length) this.sockets.broadcast("!miniTicker@arr", minis);
  }

  private sendAllTickersTo(ws: WebSocket, x: HubStream): void {
    const now = Date.now();
    const rows = [...this.feeds.values()]
      .map((f) => (x.kind === "allTickers" ? f.tickerNow(now) : f.miniTickerNow(now)))
      .filter((r) => r !== null);
    if (rows.length) this.sockets.sendTo(ws, x.name, rows);
  }
}
