import { webSocketUpgrade } from "../../../src/lib/websocket-upgrade";
import type { KeptDatabase } from "../kept-database";
import type { Market } from "../market";
import type { ChannelSnapshots } from "./channel-snapshots";
import { handleOrderMessage, type OrderEntryHost } from "./order-entry";
import {
  CloseCode,
  MAX_INBOUND_BYTES,
  MAX_TRADER_INBOUND_BYTES,
  OWNER_HEADER,
  errorFrame,
  parseChannel,
  parseClientMessage,
  socketOwner,
  type ClientMessage,
  type ParsedChannel,
} from "./protocol";
import { authenticateToken } from "./socket-sessions";
import type { Subscriptions } from "./subscriptions";

/** The heartbeat's answer, not a counted frame (as the runtime's own pong is not). */
function pong(ws: WebSocket): void {
  try {
    ws.send("pong");
  } catch {
    // Closed under us: its close event drops it.
  }
}

type SubscriptionMessage = Extract<ClientMessage, { op: "subscribe" | "unsubscribe" }>;

/**
 * The market socket's server side: upgrades, then each inbound frame: ping, auth, order entry
 * (ws/order-entry.ts), subscribe and unsubscribe. Sessions are re-checked by ws/socket-sessions.ts
 * on the object's alarm (`onAuthenticated` asks for that clock).
 */
export class SocketServer {
  constructor(
    private readonly env: Env,
    private readonly subs: Subscriptions,
    private readonly market: () => Market,
    private readonly reads: KeptDatabase,
    private readonly orderEntry: OrderEntryHost,
    private readonly snapshots: ChannelSnapshots,
    private readonly onAuthenticated: () => void,
  ) {}

  upgrade(request: Request): Response {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const m = this.market();
    if (!m.rules) return new Response("Unknown market", { status: 404 });
    const pair = new WebSocketPair();
    const ws = pair[1];
    const owner = socketOwner(request.headers.get(OWNER_HEADER));
    if (this.subs.accept(ws, m.symbol, owner)) {
      // Not hibernatable (a trader's, Subscriptions.accept): its events come to these listeners.
      ws.addEventListener("message", (event) => void this.message(ws, event.data as string | ArrayBuffer));
      ws.addEventListener("close", () => this.subs.drop(ws));
      ws.addEventListener("error", () => this.subs.drop(ws));
    }
    if (owner.principal) this.onAuthenticated();
    return webSocketUpgrade(pair[0]);
  }

  async message(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const now = Date.now();
    // Every frame counts against the limit (and shows the client reads), the literal ping included.
    if (!this.subs.inbound(ws, now)) {
      this.subs.send(ws, errorFrame(undefined, "RATE_LIMITED", "Too many messages"), now);
      this.subs.close(ws, CloseCode.POLICY_VIOLATION, "Too many messages");
      return;
    }
    // Only awake sockets reach here with a literal ping: the runtime answers the others.
    if (data === "ping" && this.subs.isAwake(ws)) {
      pong(ws);
      return;
    }
    try {
      await this.handle(ws, data, now);
    } catch {
      this.subs.send(ws, errorFrame(undefined, "INTERNAL_ERROR", "The message could not be handled"), now);
    }
  }

  private async handle(ws: WebSocket, data: string | ArrayBuffer, now: number): Promise<void> {
    const owner = this.subs.ownerOf(ws, now);
    const parsed = parseClientMessage(data, owner.trader ? MAX_TRADER_INBOUND_BYTES : MAX_INBOUND_BYTES);
    if (!parsed.ok) {
      this.subs.send(ws, errorFrame(parsed.id, parsed.code, parsed.message), now);
      return;
    }
    const msg = parsed.message;
    switch (msg.op) {
      case "ping":
        this.subs.send(ws, JSON.stringify({ type: "pong", id: msg.id, ts: now }), now);
        return;
      case "auth":
        return this.authenticate(ws, msg.token, msg.id);
      case "order.place":
      case "order.batch":
      case "order.cancel":
      case "order.amend": {
        const reply = await handleOrderMessage(this.orderEntry, owner.principal, owner.client, msg);
        const frame =
          "result" in reply
            ? { type: "result", id: msg.id, result: reply.result }
            : { type: "error", id: msg.id, error: reply.error };
        this.subs.send(ws, JSON.stringify(frame), Date.now());
        return;
      }
      default:
        return this.subscription(ws, msg, now);
    }
  }

  /**
   * As the HTTP API checks a token (a logged-out, password-changed or banned owner opens
   * nothing); afterwards the re-check ends private access when the session does.
   */
  private async authenticate(ws: WebSocket, token: string, id: unknown): Promise<void> {
    const outcome = await this.reads.use((db) => authenticateToken(db, this.env, token));
    if ("code" in outcome || !this.subs.authenticate(ws, outcome.principal)) {
      const refusal =
        "code" in outcome
          ? outcome
          : { code: "UNAUTHORIZED", message: "This socket belongs to another user" };
      this.subs.send(ws, errorFrame(id, refusal.code, refusal.message), Date.now());
      return;
    }
    this.onAuthenticated();
    this.subs.send(
      ws,
      JSON.stringify({ type: "authenticated", id, user_id: outcome.principal.userId }),
      Date.now(),
    );
  }

  private async subscription(ws: WebSocket, msg: SubscriptionMessage, now: number): Promise<void> {
    const attachment = this.subs.attachment(ws);
    const market = attachment?.market ?? this.market().symbol;
    const channels: ParsedChannel[] = [];
    const unknown: string[] = [];
    for (const raw of msg.channels) {
      const channel = parseChannel(raw, market);
      // `balances` and `balances:SYM` name one channel: each is subscribed (and snapshotted) once.
      if (channel) {
        if (!channels.some((c) => c.name === channel.name)) channels.push(channel);
      } else unknown.push(raw);
    }
    const names = channels.map((c) => c.name);
    if (unknown.length) {
      const message = `Unknown channel(s) for this ${market} socket: ${unknown.join(", ")}`;
      this.subs.send(ws, errorFrame(msg.id, "UNKNOWN_CHANNEL", message), now);
      return;
    }
    if (msg.op === "unsubscribe") {
      this.subs.remove(ws, names);
      this.subs.send(ws, JSON.stringify({ type: "unsubscribed", id: msg.id, channels: names }), now);
      return;
    }
    const privateChannel = channels.find((c) => c.kind === "orders" || c.kind === "balances");
    if (privateChannel && !attachment?.userId) {
      const message = `The ${privateChannel.kind} channel needs an authenticated socket`;
      this.subs.send(ws, errorFrame(msg.id, "UNAUTHORIZED", message), now);
      return;
    }
    const added = new Set(this.subs.add(ws, names));
    this.subs.send(ws, JSON.stringify({ type: "subscribed", id: msg.id, channels: names }), now);
    for (const channel of channels) {
      if (added.has(channel.name))
        await this.snapshots.send(ws, channel, attachment?.userId ?? null, msg.id, now);
    }
  }
}
