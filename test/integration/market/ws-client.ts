import { SELF } from "cloudflare:test";

export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A test client over a real socket to the Worker: records frames and the close event. */
export class WsClient {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | null = null;

  /** Wraps an already accepted socket. */
  static wrap(ws: WebSocket): WsClient {
    return new WsClient(ws);
  }

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      if (typeof e.data !== "string") this.frames.push({ type: "binary" });
      else if (e.data === "pong")
        this.frames.push({ type: "auto-pong" }); // the heartbeat reply (the runtime's, or a trader socket's object)
      else this.frames.push(JSON.parse(e.data) as Frame);
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
    });
  }

  /** With a `token`, authenticated at the upgrade (a trader's: accepted without hibernation). */
  static async connect(market: string, token?: string): Promise<WsClient> {
    const res = await SELF.fetch(`http://x/api/v1/ws?market=${market}`, {
      headers: { Upgrade: "websocket", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    if (res.status !== 101 || !res.webSocket)
      throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    return new WsClient(res.webSocket);
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Waits for the first frame (from `from` on) that matches, up to `timeoutMs`. */
  async next(match: (f: Frame) => boolean, from = 0, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.frames.slice(from).find(match);
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`no matching frame; got ${JSON.stringify(this.frames.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    try {
      this.ws.close(1000, "done");
    } catch {}
  }
}
