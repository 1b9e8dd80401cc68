import { MAX_STREAMS, type ParsedStream } from "../../src/binance/streams/stream-names";
import { sendFrame } from "../../src/domain/send-frame";

/** A parsed stream and the market it reads: Pandora's symbol, or `*` for the all-market streams. */
export interface HubStream extends ParsedStream {
  market: string;
}

/** The market of the all-market streams (`!ticker@arr`, `!miniTicker@arr`). */
export const ALL_MARKETS = "*";

/** Binance's limit of incoming messages per second and connection; past it the socket is closed. */
export const MAX_MESSAGES_PER_SECOND = 5;

/** What survives hibernation in the socket itself (its streams are in SQLite: too many for 2 KB). */
interface SocketAttachment {
  id: string;
  combined: boolean;
}

interface SocketState extends SocketAttachment {
  streams: Map<string, HubStream>;
  windowStart: number;
  messages: number;
}

/**
 * The hub's client sockets and their streams: an index stream → sockets for the fan-out, and
 * each socket's subscriptions in the hub's SQLite, so a hub woken from hibernation (or
 * restarted) still knows every subscription. Sending builds a payload's raw and combined
 * (`{"stream","data"}`) texts once, whatever the number of subscribers.
 */
export class HubSockets {
  private readonly byStream = new Map<string, Set<WebSocket>>();
  private readonly states = new Map<WebSocket, SocketState>();
  /** Subscriptions per market, over every socket: a market with none is not wanted. */
  private readonly perMarket = new Map<string, number>();
  /** Frames sent since the object started (the benchmark reads it). */
  framesSent = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: SqlStorage,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS subscriptions (
      socket TEXT NOT NULL, stream TEXT NOT NULL, market TEXT NOT NULL, parsed TEXT NOT NULL,
      PRIMARY KEY (socket, stream))`);
    const bySocket = new Map<string, WebSocket>();
    for (const ws of ctx.getWebSockets()) {
      const a = ws.deserializeAttachment() as SocketAttachment | null;
      if (!a) continue;
      bySocket.set(a.id, ws);
      this.states.set(ws, { ...a, streams: new Map(), windowStart: 0, messages: 0 });
    }
    const rows = sql
      .exec<{ socket: string; parsed: string }>("SELECT socket, parsed FROM subscriptions")
      .toArray();
    for (const row of rows) {
      const ws = bySocket.get(row.socket);
      if (ws) this.index(ws, JSON.parse(row.parsed) as HubStream);
    }
    // Subscriptions of sockets closed while the hub was not running.
    if (rows.some((r) => !bySocket.has(r.socket))) {
      sql.exec(
        "DELETE FROM subscriptions WHERE socket NOT IN (SELECT value FROM json_each(?))",
        JSON.stringify([...bySocket.keys()]),
      );
    }
  }

  accept(ws: WebSocket, combined: boolean): void {
    this.ctx.acceptWebSocket(ws);
    const attachment: SocketAttachment = { id: crypto.randomUUID(), combined };
    ws.serializeAttachment(attachment);
    this.states.set(ws, { ...attachment, streams: new Map(), windowStart: 0, messages: 0 });
  }

  /** Counts an inbound message; false when the socket is over Binance's rate (close it). */
  inbound(ws: WebSocket, now: number): boolean {
    const s = this.states.get(ws);
    if (!s) return false;
    if (now - s.windowStart >= 1_000) {
      s.windowStart = now;
      s.messages = 0;
    }
    return ++s.messages <= MAX_MESSAGES_PER_SECOND;
  }

  /** Whether `streams` fit the socket's limit of MAX_STREAMS. */
  fits(ws: WebSocket, streams: readonly HubStream[]): boolean {
    const s = this.states.get(ws);
    if (!s) return false;
    return s.streams.size + streams.filter((x) => !s.streams.has(x.name)).length <= MAX_STREAMS;
  }

  /** Adds streams; returns the ones the socket did not have. */
  subscribe(ws: WebSocket, streams: readonly HubStream[]): HubStream[] {
    const s = this.states.get(ws);
    if (!s) return [];
    const added = streams.filter(
      (x, i) => !s.streams.has(x.name) && streams.findIndex((y) => y.name === x.name) === i,
    );
    for (const x of added) {
      this.sql.exec(
        "INSERT OR REPLACE INTO subscriptions (socket, stream, market, parsed) VALUES (?, ?, ?, ?)",
        s.id,
        x.name,
        x.market,
        JSON.stringify(x),
      );
      this.index(ws, x);
    }
    return added;
  }

  unsubscribe(ws: WebSocket, names: readonly string[]): void {
    const s = this.states.get(ws);
    if (!s) return;
    for (const name of names) {
      const x = s.streams.get(name);
      if (!x) continue;
      this.sql.exec("DELETE FROM subscriptions WHERE socket = ? AND stream = ?", s.id, name);
      this.unindex(ws, s, x);
    }
  }

  list(ws: WebSocket): string[] {
    return [...(this.states.get(ws)?.streams.keys() ?? [])];
  }

  combined(ws: WebSocket): boolean {
    return this.states.get(ws)?.combined ?? false;
  }

  setCombined(ws: WebSocket, combined: boolean): void {
    const s = this.states.get(ws);
    if (!s) return;
    s.combined = combined;
    ws.serializeAttachment({ id: s.id, combined } satisfies SocketAttachment);
  }

  drop(ws: WebSocket): void {
    const s = this.states.get(ws);
    if (!s) return;
    this.sql.exec("DELETE FROM subscriptions WHERE socket = ?", s.id);
    for (const x of [...s.streams.values()]) this.unindex(ws, s, x);
    this.states.delete(ws);
  }

  /** Whether any socket reads this market (directly, or through an all-market stream). */
  wants(market: string): boolean {
    return (this.perMarket.get(market) ?? 0) > 0 || (this.perMarket.get(ALL_MARKETS) ?? 0) > 0;
  }

  /** The markets some socket subscribed to by name. */
  markets(): string[] {
    return [...this.perMarket.keys()].filter((m) => m !== ALL_MARKETS);
  }

  has(name: string): boolean {
    return (this.byStream.get(name)?.size ?? 0) > 0;
  }

  /** Sends one payload to every subscriber of the stream; returns how many got it. */
  broadcast(name: string, data: unknown): number {
    const set = this.byStream.get(name);
    if (!set?.size) return 0;
    const raw = JSON.stringify(data);
    let combined: string | undefined;
    let sent = 0;
    for (const ws of set) {
      const text = this.states.get(ws)?.combined ? (combined ??= wrap(name, raw)) : raw;
      if (this.sendText(ws, text)) sent++;
    }
    return sent;
  }

  /** One payload of a stream to one socket (the state sent right after subscribing). */
  sendTo(ws: WebSocket, name: string, data: unknown): void {
    const raw = JSON.stringify(data);
    this.sendText(ws, this.combined(ws) ? wrap(name, raw) : raw);
  }

  sendText(ws: WebSocket, text: string): boolean {
    return sendFrame(this, ws, text);
  }

  private index(ws: WebSocket, x: HubStream): void {
    const s = this.states.get(ws)!;
    s.streams.set(x.name, x);
    let set = this.byStream.get(x.name);
    if (!set) this.byStream.set(x.name, (set = new Set()));
    set.add(ws);
    this.perMarket.set(x.market, (this.perMarket.get(x.market) ?? 0) + 1);
  }

  private unindex(ws: WebSocket, s: SocketState, x: HubStream): void {
    s.streams.delete(x.name);
    const set = this.byStream.get(x.name);
    set?.delete(ws);
    if (set?.size === 0) this.byStream.delete(x.name);
    const n = (this.perMarket.get(x.market) ?? 1) - 1;
    if (n > 0) this.perMarket.set(x.market, n);
    else this.perMarket.delete(x.market);
  }
}

const wrap = (name: string, raw: string) => `{"stream":${JSON.stringify(name)},"data":${raw}}`;
