// The messages a market-stream connection accepts (web-socket-streams.md, "Live Subscribing/
// Unsubscribing to streams") and Binance's replies, errors included.

export type RequestId = number | string | null;

export type ControlMessage =
  | { method: "SUBSCRIBE" | "UNSUBSCRIBE"; params: string[]; id: RequestId }
  | { method: "LIST_SUBSCRIPTIONS"; id: RequestId }
  | { method: "SET_PROPERTY"; property: "combined"; value: boolean; id: RequestId }
  | { method: "GET_PROPERTY"; property: "combined"; id: RequestId };

/** Inbound frames above this size are refused (a SUBSCRIBE of 1,024 streams fits). */
export const MAX_CONTROL_BYTES = 64 * 1024;

const METHODS = ["SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY"];

/** `{"result": …, "id": …}`: null for a request that changed something. */
export const resultReply = (id: RequestId, result: unknown = null): string => JSON.stringify({ result, id });

/** `{"error": {"code", "msg"}, "id"}` with Binance's stream error codes (0 to 3). */
export const errorReply = (code: number, msg: string, id: RequestId = null): string =>
  JSON.stringify({ error: { code, msg }, id });

/** Binance's ids: a 64-bit integer, an alphanumeric string of at most 36, or null. */
function requestId(v: unknown): RequestId | undefined {
  if (v === null) return null;
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^[A-Za-z0-9-]{1,36}$/.test(v)) return v;
  return undefined;
}

export type ParsedControl = { ok: true; message: ControlMessage } | { ok: false; reply: string };

const invalid = (msg: string, id: RequestId = null): ParsedControl => ({
  ok: false,
  reply: errorReply(2, `Invalid request: ${msg}`, id),
});

/** One inbound frame as a control message, or the error reply Binance gives; never throws. */
export function parseControl(data: string | ArrayBuffer): ParsedControl {
  if (typeof data !== "string") return invalid("send JSON text frames");
  if (data.length > MAX_CONTROL_BYTES) return invalid(`frames are limited to ${MAX_CONTROL_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, reply: errorReply(3, "Invalid JSON: expected value at line 1 column 1") };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return invalid("expected an object");
  const m = json as Record<string, unknown>;
  const id = requestId(m.id);
  if (id === undefined) return invalid("request ID must be an unsigned integer");
  if (m.method === undefined) return invalid("missing field `method`", id);
  if (typeof m.method !== "string" || !METHODS.includes(m.method)) {
    return invalid(
      `unknown variant \`${String(m.method).slice(0, 40)}\`, expected one of ${METHODS.map((x) => `\`${x}\``).join(", ")}`,
      id,
    );
  }
  const params = m.params;
  switch (m.method) {
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
      if (!Array.isArray(params) || params.length === 0 || !params.every((p) => typeof p === "string")) {
        return invalid("invalid stream", id);
      }
      return { ok: true, message: { method: m.method, params: params as string[], id } };
    case "LIST_SUBSCRIPTIONS":
      if (params !== undefined && !(Array.isArray(params) && params.length === 0)) {
        return invalid("too many parameters", id);
      }
      return { ok: true, message: { method: "LIST_SUBSCRIPTIONS", id } };
    default: {
      const [property, value, ...extra] = Array.isArray(params) ? (params as unknown[]) : [];
      if (typeof property !== "string") return invalid("property name must be a string", id);
      if (property !== "combined") return { ok: false, reply: errorReply(0, "Unknown property", id) };
      if (m.method === "GET_PROPERTY") {
        if (value !== undefined) return invalid("too many parameters", id);
        return { ok: true, message: { method: "GET_PROPERTY", property, id } };
      }
      if (typeof value !== "boolean")
        return { ok: false, reply: errorReply(1, "Invalid value type: expected Boolean", id) };
      if (extra.length) return invalid("too many parameters", id);
      return { ok: true, message: { method: "SET_PROPERTY", property, value, id } };
    }
  }
}
