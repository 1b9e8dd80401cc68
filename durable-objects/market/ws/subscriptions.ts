import type { Principal } from "../../../src/http/principal";
import type { RequestMetadata } from "../../../src/http/request-metadata";
import { CloseCode, NO_CLIENT, type SocketOwner } from "./protocol";
import { sendFrame } from "../../../src/domain/send-frame";

/**
 * What survives hibernation, stored with `serializeAttachment` (a trading socket's, which keeps
 * the object awake, in memory).
 */
export interface SocketAttachment {
  market: string;
  /** Set when the socket is authenticated (upgrade or `auth`); enables `orders` and `balances`. */
  userId: string | null;
  /** The authenticated caller, as the Worker's authentication resolved it (order entry needs it). */
  principal: Principal | null;
  /** Where the socket came from, recorded with the orders it places. */
  client: RequestMetadata;
  channels: string[];
}

const isPrivateChannel = (channel: string) =>
  channel.startsWith("orders:") || channel.startsWith("balances:");

export interface SocketLimits {
  /** Inbound frames per window before the socket is closed as abusive. */
  maxMessagesPerWindow: number;
  /**
   * The same for a socket whose owner may trade: order entry must not be capped below the
   * account's order limit, which the order path enforces on its own.
   */
  maxTraderMessagesPerWindow: number;
  windowMs: number;
  /**
   * Bytes sent since the client last showed it is alive (any frame, or the literal `ping`: the
   * runtime answers a hibernatable socket's without waking the object, the object a trader
   * socket's). Past this the client is not reading.
   */
  maxBacklogBytes: number;
}

export const DEFAULT_LIMITS: SocketLimits = {
  maxMessagesPerWindow: 20,
  maxTraderMessagesPerWindow: 2_000,
  windowMs: 1_000,
  maxBacklogBytes: 4 * 1024 * 1024,
};

interface Runtime {
  /** The socket's owner, read once from its attachment (null: not yet read). */
  owner: (SocketOwner & { trader: boolean }) | null;
  /** Frames per window for this socket. */
  limit: number;
  windowStart: number;
  messages: number;
  /** Bytes sent since `since`. */
  backlog: number;
  since: number;
}

/**
 * The channel → sockets index of one object, rebuilt from socket attachments after
 * hibernation, plus the per-socket inbound rate and outbound backlog accounting.
 */
export class Subscriptions {
  readonly limits: SocketLimits = { ...DEFAULT_LIMITS };
  /** Frames in and out since the object started (the market's metrics). */
  framesSent = 0;
  framesReceived = 0;
  private readonly index = new Map<string, Set<WebSocket>>();
  private readonly runtime = new Map<WebSocket, Runtime>();
  /**
   * Sockets accepted without hibernation (`accept`), with their attachments: the runtime
   * neither lists them (`getWebSockets`) nor keeps their attachments.
   */
  private readonly awake = new Map<WebSocket, SocketAttachment>();

  constructor(private readonly ctx: DurableObjectState) {
    for (const ws of ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (a) for (const channel of a.channels) this.indexOf(channel).add(ws);
    }
  }

  attachment(ws: WebSocket): SocketAttachment | null {
    const awake = this.awake.get(ws);
    if (awake) return awake;
    try {
      return ws.deserializeAttachment() as SocketAttachment | null;
    } catch {
      return null;
    }
  }

  /**
   * Accepts the socket. One whose owner may trade is accepted without hibernation (true: the
   * caller listens to it): each frame of the hibernation API is its own event into the object,
   * which cost a fifth of workerd's CPU per order at socket order entry (0.78x without, two
   * interleaved pairs), and a trader's socket keeps the object busy anyway. The others hibernate.
   */
  accept(ws: WebSocket, market: string, owner: SocketOwner): boolean {
    const attachment: SocketAttachment = {
      market,
      userId: owner.principal?.userId ?? null,
      principal: owner.principal,
      client: owner.client,
      channels: [],
    };
    if (owner.principal?.permissions.includes("trade")) {
      ws.accept();
      this.awake.set(ws, attachment);
      return true;
    }
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment(attachment);
    return false;
  }

  /** Accepted without hibernation: the literal `ping` reaches the object (as any frame). */
  isAwake(ws: WebSocket): boolean {
    return this.awake.has(ws);
  }

  /** Every socket, hibernatable or not. */
  sockets(): WebSocket[] {
    return [...this.ctx.getWebSockets(), ...this.awake.keys()];
  }

  private store(ws: WebSocket, a: SocketAttachment): void {
    if (this.awake.has(ws)) this.awake.set(ws, a);
    else ws.serializeAttachment(a);
  }

  /** Marks the socket as the user's (after an `auth` message); private channels open to it. */
  authenticate(ws: WebSocket, principal: Principal): boolean {
    const a = this.attachment(ws);
    if (!a || (a.userId !== null && a.userId !== principal.userId)) return false;
    a.userId = principal.userId;
    a.principal = principal;
    this.store(ws, a);
    this.runtime.delete(ws); // its frame limit changes with its owner
    return true;
  }

  /**
   * Ends the owner's private access (revoked, expired, banned): the `orders` and `balances`
   * channels are dropped and order entry refused until the socket authenticates again.
   * Returns the channels dropped.
   */
  deauthenticate(ws: WebSocket): string[] {
    const a = this.attachment(ws);
    if (!a) return [];
    const dropped = a.channels.filter(isPrivateChannel);
    a.userId = null;
    a.principal = null;
    this.store(ws, a);
    this.remove(ws, dropped);
    this.runtime.delete(ws); // its frame limit changes with its owner
    return dropped;
  }

  /** The sockets that have an owner, with it (what the session re-check looks at). */
  authenticatedSockets(): { ws: WebSocket; principal: Principal }[] {
    const owned: { ws: WebSocket; principal: Principal }[] = [];
    for (const ws of this.sockets()) {
      const principal = this.attachment(ws)?.principal;
      if (principal) owned.push({ ws, principal });
    }
    return owned;
  }

  /** Adds channels; returns the ones that were not subscribed before (each once). */
  add(ws: WebSocket, channels: readonly string[]): string[] {
    const a = this.attachment(ws);
    if (!a) return [];
    const added = [...new Set(channels)].filter((c) => !a.channels.includes(c));
    if (added.length === 0) return added;
    a.channels.push(...added);
    this.store(ws, a);
    for (const c of added) this.indexOf(c).add(ws);
    return added;
  }

  remove(ws: WebSocket, channels: readonly string[]): void {
    const a = this.attachment(ws);
    if (!a) return;
    a.channels = a.channels.filter((c) => !channels.includes(c));
    this.store(ws, a);
    for (const c of channels) this.index.get(c)?.delete(ws);
  }

  drop(ws: WebSocket): void {
    for (const set of this.index.values()) set.delete(ws);
    this.runtime.delete(ws);
    this.awake.delete(ws);
  }

  count(channel: string): number {
    return this.index.get(channel)?.size ?? 0;
  }

  /** Sockets of a channel (a copy is not made: do not subscribe or drop while iterating). */
  subscribers(channel: string): ReadonlySet<WebSocket> | undefined {
    return this.index.get(channel);
  }

  /**
   * Who owns the socket and whether it may trade, from its attachment once per wake-up (and
   * again after `authenticate` / `deauthenticate`), not once per frame.
   */
  ownerOf(ws: WebSocket, now: number): SocketOwner & { trader: boolean } {
    const r = this.runtimeOf(ws, now);
    if (!r.owner) {
      const a = this.attachment(ws);
      const principal = a?.principal ?? null;
      const trader = principal?.permissions.includes("trade") ?? false;
      r.owner = { principal, client: a?.client ?? NO_CLIENT, trader };
      // A trader may send a whole 10-second order allowance in one burst.
      r.limit = trader
        ? Math.max(this.limits.maxTraderMessagesPerWindow, principal!.orderLimits?.per10s ?? 0)
        : this.limits.maxMessagesPerWindow;
    }
    return r.owner;
  }

  /** Records an inbound frame; false when the socket is over its rate (the caller closes it). */
  inbound(ws: WebSocket, now: number): boolean {
    this.framesReceived++;
    const r = this.runtimeOf(ws, now);
    this.ownerOf(ws, now);
    r.backlog = 0;
    r.since = now;
    if (now - r.windowStart >= this.limits.windowMs) {
      r.windowStart = now;
      r.messages = 0;
    }
    return ++r.messages <= r.limit;
  }

  /** Sends one frame, closing a client that stopped reading; false when the socket is gone. */
  send(ws: WebSocket, text: string, now: number): boolean {
    const r = this.runtimeOf(ws, now);
    r.backlog += text.length;
    if (r.backlog > this.limits.maxBacklogBytes) {
      // An awake socket's pings reset the backlog as they arrive (`inbound`).
      const pinged = this.awake.has(ws)
        ? 0
        : (this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0);
      if (pinged > r.since) {
        r.backlog = text.length;
        r.since = pinged;
      } else {
        this.close(ws, CloseCode.TRY_AGAIN_LATER, "Outbound backlog exceeded: the client is not reading");
        return false;
      }
    }
    return sendFrame(this, ws, text);
  }

  broadcast(channel: string, text: string, now: number): number {
    const set = this.index.get(channel);
    if (!set || set.size === 0) return 0;
    let sent = 0;
    // Deleting the current element of a Set while iterating it is safe.
    for (const ws of set) if (this.send(ws, text, now)) sent++;
    return sent;
  }

  close(ws: WebSocket, code: number, reason: string): void {
    this.drop(ws);
    try {
      ws.close(code, reason);
    } catch {}
  }

  private indexOf(channel: string): Set<WebSocket> {
    let set = this.index.get(channel);
    if (!set) this.index.set(channel, (set = new Set()));
    return set;
  }

  private runtimeOf(ws: WebSocket, now: number): Runtime {
    let r = this.runtime.get(ws);
    if (!r)
      this.runtime.set(
        ws,
        (r = { owner: null, limit: 0, windowStart: now, messages: 0, backlog: 0, since: now }),
      );
    return r;
  }
}
