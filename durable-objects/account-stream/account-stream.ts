import { DurableObject } from "cloudflare:workers";
import { constantTimeEqualStrings } from "../../src/lib/constant-time";
import { webSocketUpgrade } from "../../src/lib/websocket-upgrade";
import { LISTEN_KEY_TTL_MS, newListenKey } from "./listen-key";
import { createRedis } from "../../src/http/resources";
import { SOCKET_HEADER, USER_HEADER, type AccountEvent } from "./account-stream-protocol";
import { setListening } from "./listening-users";

/** A `/ws/<listenKey>` socket, or the Worker's bridge to one `/ws-api/v3` subscription. */
type SocketTag = ({ kind: "listen"; key: string } | { kind: "subscriber" }) & { userId: string };

interface ListenKeyRecord {
  key: string;
  expiresAt: number;
}

/** Event ids remembered against repeats (the event relay delivers at least once). */
const REMEMBERED_IDS = 4_096;

/**
 * One object per user (addressed by the user id): the fan-in of that user's private events
 * from every market and from the wallet (src/binance/user-data/forward.ts pushes them here
 * after they are committed) to the user's sockets: raw events on `/ws/<listenKey>`, and to the
 * Worker's bridge of each `/ws-api/v3` connection subscribed to the user data stream. It also
 * holds the user's one listen key and closes its sockets when the key expires (60 minutes after
 * the last keep-alive, as Binance does). It knows nothing of orders or balances.
 */
export class AccountStream extends DurableObject<Env> {
  private readonly seen = new Set<string>();
  /** The Redis writes of `listening`, one after another (the last one says what holds). */
  private listeningWrites: Promise<void> = Promise.resolve();

  /** The user's valid listen key, extended by 60 minutes; a new one when there is none. */
  async startListenKey(userId: string): Promise<string> {
    const now = Date.now();
    const current = await this.current(now);
    const key = current?.key ?? newListenKey(userId);
    await this.store({ key, expiresAt: now + LISTEN_KEY_TTL_MS });
    return key;
  }

  /** Extends the key by 60 minutes; false when it is not the user's valid key. */
  async keepAlive(key: string): Promise<boolean> {
    const now = Date.now();
    const current = await this.current(now);
    if (!current || !constantTimeEqualStrings(current.key, key)) return false;
    await this.store({ key, expiresAt: now + LISTEN_KEY_TTL_MS });
    return true;
  }

  /** Ends the key and closes its sockets; false when it is not the user's valid key. */
  async closeListenKey(key: string): Promise<boolean> {
    const current = await this.current(Date.now());
    if (!current || !constantTimeEqualStrings(current.key, key)) return false;
    await this.ctx.storage.delete("listen_key");
    await this.ctx.storage.deleteAlarm();
    this.closeListeners(key, 1000, "listen key closed");
    return true;
  }

  /** Sends events not seen before to every socket; returns how many frames went out. */
  async deliver(events: AccountEvent[]): Promise<number> {
    const sockets = this.ctx.getWebSockets();
    let sent = 0;
    for (const e of events) {
      if (this.seen.has(e.id)) continue;
      this.remember(e.id);
      for (const ws of sockets) {
        try {
          ws.send(e.event);
          sent++;
        } catch {
          // closing: its close handler cleans up
        }
      }
    }
    return sent;
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const kind = request.headers.get(SOCKET_HEADER) ?? "";
    const userId = request.headers.get(USER_HEADER) ?? "";
    let tag: SocketTag;
    if (kind === "subscriber") tag = { kind, userId };
    else if (kind.startsWith("listen:")) {
      const key = kind.slice("listen:".length);
      const current = await this.current(Date.now());
      if (!current || !constantTimeEqualStrings(current.key, key)) {
        return new Response("Unknown or expired listen key", { status: 404 });
      }
      tag = { kind: "listen", key, userId };
    } else return new Response("Unknown socket kind", { status: 400 });
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    pair[1].serializeAttachment(tag);
    // Before the client has the socket: from then on the relay forwards this user's events.
    this.listening(userId);
    await this.listeningWrites;
    return webSocketUpgrade(pair[0]);
  }

  /** Streams are one-way: what a client sends is ignored (pings are answered by the runtime). */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code);
    } catch {
      // already closed
    }
    const tag = ws.deserializeAttachment() as SocketTag | null;
    if (tag?.userId) this.listening(tag.userId);
  }

  /**
   * Tells the relay whether the user has a socket open (listening-users.ts). Each write reads
   * the sockets when it runs, and the writes run in order, so the last one is right whatever
   * opened or closed meanwhile. A failed write leaves the flag stale: set, it costs the relay a
   * read; cleared while a socket is open, the next open or close puts it right.
   */
  private listening(userId: string): void {
    const write = async () => {
      const open = this.ctx.getWebSockets().some((s) => s.readyState === WebSocket.OPEN);
      await setListening(createRedis(this.env), userId, open);
    };
    this.listeningWrites = this.listeningWrites.then(write).catch(() => {});
    this.ctx.waitUntil(this.listeningWrites);
  }

  /** The key's 60 minutes are up: its sockets get `listenKeyExpired` and are closed. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const record = await this.ctx.storage.get<ListenKeyRecord>("listen_key");
    if (!record) return;
    if (record.expiresAt > now) {
      await this.ctx.storage.setAlarm(record.expiresAt);
      return;
    }
    await this.ctx.storage.delete("listen_key");
    const expired = JSON.stringify({ e: "listenKeyExpired", E: now, listenKey: record.key });
    for (const ws of this.listeners(record.key)) {
      try {
        ws.send(expired);
      } catch {
        // already closing
      }
    }
    this.closeListeners(record.key, 1000, "listen key expired");
  }

  private async current(now: number): Promise<ListenKeyRecord | null> {
    const record = await this.ctx.storage.get<ListenKeyRecord>("listen_key");
    return record && record.expiresAt > now ? record : null;
  }

  private async store(record: ListenKeyRecord): Promise<void> {
    await this.ctx.storage.put("listen_key", record);
    await this.ctx.storage.setAlarm(record.expiresAt);
  }

  private listeners(key: string): WebSocket[] {
    return this.ctx.getWebSockets().filter((ws) => {
      const tag = ws.deserializeAttachment() as SocketTag | null;
      return tag?.kind === "listen" && tag.key === key;
    });
  }

  private closeListeners(key: string, code: number, reason: string): void {
    for (const ws of this.listeners(key)) {
      try {
        ws.close(code, reason);
      } catch {
        // already closed
      }
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value!);
  }
}
