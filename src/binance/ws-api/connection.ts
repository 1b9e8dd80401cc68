import { SOCKET_HEADER, USER_HEADER } from "../../../durable-objects/account-stream/account-stream-protocol";
import { withDatabase } from "../../db/client";
import { createRedis } from "../../http/resources";
import { decryptSecret, hmacSha256Hex } from "../../lib/api-key-crypto";
import { describeError, type Logger } from "../../lib/logger";
import { BinanceError, apiKeyRejected, toBinanceError } from "../binance-errors";
import { verifySignedCall } from "../signature";
import { accountStream } from "../user-data/account-streams";
import { REST_METHODS, type RestMethod } from "./methods";
import { sortedPayload, wireParams, type WireParams } from "./wire-params";

/** Runs a request through the Worker's own app (the REST endpoints of the Binance face). */
export type Dispatch = (request: Request) => Promise<Response>;

export interface ConnectionOptions {
  env: Env;
  dispatch: Dispatch;
  /** The Worker's origin, for the internal requests. */
  origin: string;
  /** The client's address: the REST limits, allowlists and audit rows see it. */
  ip: string | null;
  /** `?returnRateLimits=false` on the connection URL. */
  returnRateLimits: boolean;
  send: (frame: string) => void;
  log: Logger;
}

/** An API key logged on to the connection (`session.logon`): signs its requests from then on. */
interface Session {
  apiKey: string;
  secret: string;
  userId: string;
  authorizedSince: number;
}

type Reply = { status: number; result: unknown; rateLimits?: unknown[] } | { status: number; error: unknown };

const unsupported = () => new BinanceError(400, -1020, "This operation is not supported.");

/**
 * One `/ws-api/v3` connection (Binance's WebSocket API, docs/binance-api.md): requests
 * `{"id","method","params"}` answered `{"id","status","result"|"error","rateLimits"}`, in any
 * order. Methods that are a REST endpoint run through it (methods.ts); the connection itself keeps
 * the logged-on key (session.*) and its user data stream subscriptions, each a bridge to the
 * user's AccountStream object whose events it forwards as `{"subscriptionId","event"}`.
 */
export class WsApiConnection {
  private readonly connectedSince = Date.now();
  private session: Session | null = null;
  private readonly subscriptions = new Map<number, WebSocket>();
  private nextSubscriptionId = 0;

  constructor(private readonly o: ConnectionOptions) {}

  async onMessage(data: string | ArrayBuffer): Promise<void> {
    let id: unknown = null;
    let reply: Reply;
    try {
      const msg = typeof data === "string" ? parseJson(data) : null;
      if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
        throw new BinanceError(400, -1100, "Malformed request: a JSON object is expected.");
      }
      const m = msg as { id?: unknown; method?: unknown; params?: unknown };
      id = typeof m.id === "string" || typeof m.id === "number" ? m.id : null;
      if (typeof m.method !== "string")
        throw new BinanceError(400, -1102, "Mandatory parameter 'method' was not sent.");
      reply = await this.call(m.method.replace(/^v3\//, ""), wireParams(m.params));
    } catch (err) {
      const e = toBinanceError(err);
      if (e.code === -1000) this.o.log.error("ws-api request failed", describeError(err));
      reply = { status: e.status, error: { code: e.code, msg: e.message } };
    }
    this.o.send(JSON.stringify({ id, ...reply }));
  }

  /** The client went away: its subscriptions' bridges close. */
  close(): void {
    for (const ws of this.subscriptions.values()) closeQuietly(ws);
    this.subscriptions.clear();
  }

  private async call(method: string, params: WireParams): Promise<Reply> {
    const rest = REST_METHODS[method];
    if (rest) return this.viaRest(rest, params);
    switch (method) {
      case "session.logon": {
        // Binance logs on Ed25519 keys only; ours are HMAC keys, whose secret then signs for the session.
        const { key, user } = await this.verify(params);
        const secret = await decryptSecret(
          this.o.env.API_KEY_ENCRYPTION_KEY,
          key.keyId,
          key.secretCiphertext,
        );
        this.session = { apiKey: key.keyId, secret, userId: user.id, authorizedSince: Date.now() };
        return { status: 200, result: this.sessionStatus() };
      }
      case "session.status":
        return { status: 200, result: this.sessionStatus() };
      case "session.logout":
        this.session = null;
        return { status: 200, result: this.sessionStatus() };
      case "userDataStream.subscribe.signature": {
        const { user } = await this.verify(params);
        return { status: 200, result: { subscriptionId: await this.subscribe(user.id) } };
      }
      case "userDataStream.subscribe": {
        if (!this.session) throw apiKeyRejected();
        return { status: 200, result: { subscriptionId: await this.subscribe(this.session.userId) } };
      }
      case "userDataStream.unsubscribe": {
        const only = params.subscriptionId === undefined ? null : Number(params.subscriptionId);
        for (const [id, ws] of this.subscriptions) {
          if (only !== null && id !== only) continue;
          closeQuietly(ws);
          this.subscriptions.delete(id);
        }
        return { status: 200, result: {} };
      }
    }
    throw unsupported();
  }

  /** A SIGNED request of the connection itself (logon, subscribe): Binance's checks, as REST does them. */
  private async verify(params: WireParams) {
    const { env } = this.o;
    return withDatabase(env, (db) =>
      verifySignedCall(db, createRedis(env), env, {
        keyId: params.apiKey,
        payload: sortedPayload(params),
        signature: params.signature ?? null,
        timestamp: params.timestamp ?? null,
        recvWindow: params.recvWindow ?? null,
        ip: this.o.ip,
      }),
    );
  }

  private sessionStatus() {
    return {
      apiKey: this.session?.apiKey ?? null,
      authorizedSince: this.session?.authorizedSince ?? null,
      connectedSince: this.connectedSince,
      returnRateLimits: this.o.returnRateLimits,
      serverTime: Date.now(),
      userDataStream: this.subscriptions.size > 0,
    };
  }

  /** Bridges the user's AccountStream object to this connection; returns the subscription's id. */
  private async subscribe(userId: string): Promise<number> {
    const res = await accountStream(this.o.env, userId).fetch(
      new Request(`${this.o.origin}/user-data`, {
        headers: { Upgrade: "websocket", [SOCKET_HEADER]: "subscriber", [USER_HEADER]: userId },
      }),
    );
    const ws = res.webSocket;
    if (!ws) throw new BinanceError(503, -1007, "The user data stream is unavailable right now.");
    ws.accept();
    const id = this.nextSubscriptionId++;
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") this.o.send(`{"subscriptionId":${id},"event":${e.data}}`);
    });
    ws.addEventListener("close", () => this.subscriptions.delete(id));
    this.subscriptions.set(id, ws);
    return id;
  }

  /**
   * A method through its REST endpoint: parameters in the query string (GET, DELETE) or a form
   * body (POST, PUT), exactly as the client signed them, so the endpoint's own signature check
   * applies. A logged-on session signs for the client with the key it logged on with.
   */
  private async viaRest(rest: RestMethod, params: WireParams): Promise<Reply> {
    const headers = new Headers({ "cf-connecting-ip": this.o.ip ?? "" });
    const { returnRateLimits: asked, ...sent } = params;
    let text: string;
    if (rest.security === "NONE") text = new URLSearchParams(sent).toString();
    else {
      const { apiKey, ...rest_ } = sent;
      const key = apiKey ?? this.session?.apiKey;
      if (key) headers.set("x-mbx-apikey", key);
      if (rest.security === "USER_STREAM") text = new URLSearchParams(rest_).toString();
      else if (sent.signature !== undefined || !this.session || (apiKey && apiKey !== this.session.apiKey)) {
        // Signed by the client: the payload is the parameters as sent (returnRateLimits included).
        text = appendSignature(sortedPayload(params), params.signature);
      } else {
        const payload = sortedPayload({ ...params, apiKey: this.session.apiKey });
        text = appendSignature(payload, await hmacSha256Hex(this.session.secret, payload));
      }
    }
    const inBody = rest.method === "POST" || rest.method === "PUT";
    if (inBody) headers.set("content-type", "application/x-www-form-urlencoded");
    const res = await this.o.dispatch(
      new Request(`${this.o.origin}/api/v3${rest.path}${inBody || !text ? "" : `?${text}`}`, {
        method: rest.method,
        headers,
        body: inBody ? text : undefined,
      }),
    );
    const body = (await res.json().catch(() => null)) as { code?: unknown; msg?: unknown } | null;
    const wantLimits = asked === undefined ? this.o.returnRateLimits : asked !== "false";
    const rateLimits = wantLimits ? rateLimitsOf(res.headers) : undefined;
    if (res.status === 200) return { status: 200, result: body, ...(rateLimits ? { rateLimits } : {}) };
    const error =
      res.status === 404 && typeof body?.code !== "number"
        ? { code: -1020, msg: "This operation is not supported." }
        : typeof body?.code === "number"
          ? { code: body.code, msg: String(body.msg ?? "") }
          : { code: -1000, msg: "An unknown error occurred while processing the request." };
    return { status: res.status === 404 ? 400 : res.status, error, ...(rateLimits ? { rateLimits } : {}) };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

const appendSignature = (payload: string, signature: string | undefined) =>
  signature === undefined ? payload : `${payload}${payload ? "&" : ""}signature=${signature}`;

/** The REST reply's usage headers as Binance's `rateLimits` entries. */
function rateLimitsOf(headers: Headers): unknown[] {
  const out: unknown[] = [];
  const weight = headers.get("x-mbx-used-weight-1m");
  if (weight !== null) {
    out.push({
      rateLimitType: "REQUEST_WEIGHT",
      interval: "MINUTE",
      intervalNum: 1,
      limit: 6000,
      count: Number(weight),
    });
  }
  for (const [interval, intervalNum, name] of [
    ["SECOND", 10, "x-mbx-order-count-10s"],
    ["DAY", 1, "x-mbx-order-count-1d"],
  ] as const) {
    const count = headers.get(name);
    if (count !== null) out.push({ rateLimitType: "ORDERS", interval, intervalNum, count: Number(count) });
  }
  return out;
}

function closeQuietly(ws: WebSocket): void {
  try {
    ws.close(1000, "unsubscribed");
  } catch {
    // already closed
  }
}
