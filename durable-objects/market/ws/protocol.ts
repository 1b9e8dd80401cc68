import { z } from "zod";
import { MAX_BATCH_ORDERS } from "../../../src/domain/market/order-limits";
import type { Principal } from "../../../src/http/principal";
import type { RequestMetadata } from "../../../src/http/request-metadata";
import { isInterval, type Interval } from "../market-data/candles";

/** Inbound frames larger than this are refused with an error frame. */
export const MAX_INBOUND_BYTES = 4096;
/** The same for a socket whose owner may trade: room for an `order.batch` of MAX_BATCH_ORDERS. */
export const MAX_TRADER_INBOUND_BYTES = 64 * 1024;

export const MAX_CHANNELS_PER_MESSAGE = 20;

const RequestId = z.union([z.number().int().safe(), z.string().max(64)]);
const Channels = z.array(z.string().min(1).max(64)).min(1).max(MAX_CHANNELS_PER_MESSAGE);

export const ClientMessage = z.discriminatedUnion("op", [
  z.object({ op: z.literal("subscribe"), id: RequestId.optional(), channels: Channels }).strict(),
  z.object({ op: z.literal("unsubscribe"), id: RequestId.optional(), channels: Channels }).strict(),
  z.object({ op: z.literal("ping"), id: RequestId.optional() }).strict(),
  z.object({ op: z.literal("auth"), id: RequestId.optional(), token: z.string().min(1).max(2048) }).strict(),
  // Order entry (authenticated sockets): `order` is the body of the matching REST call.
  z
    .object({ op: z.literal("order.place"), id: RequestId, order: z.record(z.string(), z.unknown()) })
    .strict(),
  z
    .object({
      op: z.literal("order.batch"),
      id: RequestId,
      orders: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_BATCH_ORDERS),
    })
    .strict(),
  z
    .object({
      op: z.literal("order.cancel"),
      id: RequestId,
      order_id: z.string().min(1).max(64).optional(),
      client_order_id: z.string().min(1).max(64).optional(),
    })
    .strict()
    .refine((m) => (m.order_id === undefined) !== (m.client_order_id === undefined), {
      message: "give order_id or client_order_id",
    }),
  z
    .object({
      op: z.literal("order.amend"),
      id: RequestId,
      order_id: z.string().min(1).max(64),
      order: z.record(z.string(), z.unknown()),
    })
    .strict(),
]);
export type OrderMessage = Extract<ClientMessage, { op: `order.${string}` }>;
export type ClientMessage = z.infer<typeof ClientMessage>;

const OPS = [
  "subscribe",
  "unsubscribe",
  "ping",
  "auth",
  "order.place",
  "order.batch",
  "order.cancel",
  "order.amend",
];

export type ChannelKind = "depth" | "trades" | "ticker" | "candles" | "orders" | "balances";

export interface ParsedChannel {
  /** Canonical name, e.g. `candles:1m:BTC-USDT`. */
  name: string;
  kind: ChannelKind;
  interval?: Interval;
}

export type ParseResult =
  { ok: true; message: ClientMessage } | { ok: false; id?: unknown; code: string; message: string };

/** Parses one inbound frame; never throws. */
export function parseClientMessage(data: string | ArrayBuffer, maxBytes = MAX_INBOUND_BYTES): ParseResult {
  if (typeof data !== "string") return { ok: false, code: "BAD_REQUEST", message: "Send JSON text frames" };
  if (data.length > maxBytes) {
    return { ok: false, code: "MESSAGE_TOO_LARGE", message: `Frames are limited to ${maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, code: "MALFORMED_JSON", message: "The frame is not valid JSON" };
  }
  const id = typeof json === "object" && json !== null ? (json as { id?: unknown }).id : undefined;
  const op = typeof json === "object" && json !== null ? (json as { op?: unknown }).op : undefined;
  if (typeof op !== "string" || !OPS.includes(op)) {
    return { ok: false, id, code: "UNKNOWN_OP", message: `Unknown op: use ${OPS.join(", ")}` };
  }
  const fast = orderEntryFrame(json);
  if (fast) return { ok: true, message: fast };
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      id,
      code: "BAD_REQUEST",
      message: `Invalid ${op} message${issue ? `: ${issue.path.join(".") || "frame"} ${issue.message}` : ""}`,
    };
  }
  return { ok: true, message: parsed.data };
}

/** An order body as `z.record(z.string(), z.unknown())` takes it unchanged: a plain JSON object. */
const isPlainBody = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" &&
  v !== null &&
  Object.getPrototypeOf(v) === Object.prototype &&
  !Object.hasOwn(v, "__proto__");

const isRequestId = (v: unknown) => Number.isSafeInteger(v) || (typeof v === "string" && v.length <= 64);

/**
 * The order entry frames a trading socket sends by the thousand (`order.place`, `order.batch`)
 * when they certainly pass `ClientMessage`, without zod (it was a tenth of the object's
 * thread); null otherwise, and the schema decides and words the refusal. The bodies are checked
 * later, each on its own (order-entry.ts).
 */
function orderEntryFrame(json: unknown): OrderMessage | null {
  const m = json as Record<string, unknown>;
  let keys = 0;
  for (const _ in m) keys++;
  if (keys !== 3 || !isRequestId(m.id)) return null;
  if (m.op === "order.place" && isPlainBody(m.order)) return m as unknown as OrderMessage;
  if (m.op !== "order.batch" || !Array.isArray(m.orders)) return null;
  const orders: unknown[] = m.orders;
  if (orders.length < 1 || orders.length > MAX_BATCH_ORDERS || !orders.every(isPlainBody)) return null;
  return m as unknown as OrderMessage;
}

/**
 * `depth:BTC-USDT`, `trades:BTC-USDT`, `ticker:BTC-USDT`, `candles:1m:BTC-USDT`, and the private
 * `orders` / `orders:BTC-USDT` and `balances` / `balances:BTC-USDT` (canonical names carry the
 * market), for the socket's market only; null for anything else.
 */
export function parseChannel(raw: string, market: string): ParsedChannel | null {
  const parts = raw.split(":");
  const kind = parts[0];
  if (
    (kind === "orders" || kind === "balances") &&
    (parts.length === 1 || (parts.length === 2 && parts[1] === market))
  ) {
    return { name: `${kind}:${market}`, kind };
  }
  if (
    (kind === "depth" || kind === "trades" || kind === "ticker") &&
    parts.length === 2 &&
    parts[1] === market
  ) {
    return { name: raw, kind };
  }
  if (kind === "candles" && parts.length === 3 && isInterval(parts[1]) && parts[2] === market) {
    return { name: raw, kind: "candles", interval: parts[1] };
  }
  return null;
}

/**
 * Header the Worker sets on an upgrade it forwards to the object: JSON `SocketOwner`. The
 * Worker builds that request itself, so a client can never supply it.
 */
export const OWNER_HEADER = "X-Pandora-Socket-Owner";

/** Who opened the socket: the authenticated caller (if any) and where from (for audit rows). */
export interface SocketOwner {
  principal: Principal | null;
  client: RequestMetadata;
}

/** The client of a socket whose upgrade did not say. */
export const NO_CLIENT: RequestMetadata = { ipAddress: null, userAgent: null, requestId: null };

/** WebSocket close codes used by the server. */
export const CloseCode = {
  /** Abusive client: too many messages. */
  POLICY_VIOLATION: 1008,
  /** The client is not reading: its outbound backlog passed the limit. */
  TRY_AGAIN_LATER: 1013,
} as const;

/** An error frame; `id` is echoed when the request had a usable one. */
export function errorFrame(id: unknown, code: string, message: string): string {
  return JSON.stringify({
    type: "error",
    ...(typeof id === "number" || typeof id === "string" ? { id } : {}),
    code,
    message,
  });
}

/** The owner the Worker put on an upgrade (absent or unreadable: an anonymous socket). */
export function socketOwner(header: string | null): SocketOwner {
  try {
    const owner = header ? (JSON.parse(header) as SocketOwner) : null;
    if (owner && typeof owner === "object")
      return { principal: owner.principal ?? null, client: owner.client ?? NO_CLIENT };
  } catch {}
  return { principal: null, client: NO_CLIENT };
}
