/** A server frame: every one names its channel (protocol: docs/websocket.md). */
export interface Frame {
  type: string;
  channel?: string;
  id?: number | string;
  [key: string]: unknown;
}

export type SocketStatus = "connecting" | "live" | "reconnecting" | "closed";

const HEARTBEAT_MS = 10_000;

/**
 * One WebSocket to one market's object: subscribes the wanted channels on every (re)connect,
 * authenticates first when a token is given (browsers cannot set headers), heartbeats with the
 * literal `ping` the runtime answers without waking the object, and reconnects with backoff.
 */
export class MarketSocket {
  private ws: WebSocket | null = null;
  private readonly channels = new Set<string>();
  private readonly privateChannels = new Set<string>();
  private authenticated = false;
  private nextId = 1;
  private attempt = 0;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly symbol: string,
    private token: string | null,
    private readonly onFrame: (frame: Frame) => void,
    private readonly onStatus: (status: SocketStatus) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    this.ws?.close(1000);
    this.ws = null;
    this.onStatus("closed");
  }

  /**
   * The session's token. Signing in or out needs a fresh socket (private channels belong to one
   * user); a rotated token of the same session is only kept for the next reconnect.
   */
  setToken(token: string | null): void {
    const signedInOrOut = (token === null) !== (this.token === null);
    this.token = token;
    if (signedInOrOut && this.ws) this.ws.close(1000, "session changed");
  }

  subscribe(...channels: string[]): void {
    const fresh = channels.filter((c) => !this.channels.has(c));
    for (const c of fresh) this.channels.add(c);
    if (fresh.length) this.send({ op: "subscribe", channels: fresh });
  }

  unsubscribe(...channels: string[]): void {
    const known = channels.filter((c) => this.channels.delete(c));
    if (known.length) this.send({ op: "unsubscribe", channels: known });
  }

  /** Channels that need an authenticated socket; subscribed once the server confirms the token. */
  subscribePrivate(...channels: string[]): void {
    for (const c of channels) this.privateChannels.add(c);
    if (this.authenticated) this.send({ op: "subscribe", channels });
  }

  /** Unsubscribes and subscribes again: the server then sends a fresh snapshot (a depth gap). */
  resubscribe(channel: string): void {
    this.send({ op: "unsubscribe", channels: [channel] });
    this.send({ op: "subscribe", channels: [channel] });
  }

  private send(message: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ id: this.nextId++, ...message }));
  }

  private connect(): void {
    this.onStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(
      `${scheme}://${location.host}/api/v1/ws?market=${encodeURIComponent(this.symbol)}`,
    );
    this.ws = ws;
    this.authenticated = false;
    ws.onopen = () => {
      this.attempt = 0;
      this.onStatus("live");
      if (this.token) this.send({ op: "auth", token: this.token });
      if (this.channels.size) this.send({ op: "subscribe", channels: [...this.channels] });
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send("ping"), HEARTBEAT_MS);
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== "string" || event.data === "pong") return;
      const frame = JSON.parse(event.data) as Frame;
      if (frame.type === "authenticated") {
        this.authenticated = true;
        if (this.privateChannels.size) this.send({ op: "subscribe", channels: [...this.privateChannels] });
      }
      this.onFrame(frame);
    };
    ws.onclose = () => {
      clearInterval(this.heartbeat);
      if (this.stopped || this.ws !== ws) return;
      this.onStatus("reconnecting");
      const delay = Math.min(10_000, 500 * 2 ** this.attempt++);
      this.retry = setTimeout(() => this.connect(), delay);
    };
  }
}
