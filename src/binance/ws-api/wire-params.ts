import { BinanceError, illegalChars } from "../binance-errors";

/** A request's `params` as Binance's wire strings (numbers and booleans as text, arrays as JSON). */
export type WireParams = Record<string, string>;

/**
 * Characters a parameter value may not hold: they would change what the REST endpoint parses or
 * signs (`&`, `=`, `%`, `+`, `#`), or be percent-encoded in a URL and so differ from the signed text.
 */
const UNSAFE = /[\s&=%+#"'<>\\`{}|^]/;

/** Checks and flattens `params` (an object of strings, numbers, booleans or arrays of strings). */
export function wireParams(params: unknown): WireParams {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new BinanceError(400, -1102, "Parameter 'params' must be an object.");
  }
  const out: WireParams = {};
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) continue;
    let text: string;
    if (typeof value === "string") text = value;
    else if (typeof value === "number" || typeof value === "boolean") text = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === "string" && !UNSAFE.test(v))) {
      out[name] = JSON.stringify(value);
      continue;
    } else throw illegalChars(name);
    if (UNSAFE.test(text) || !/^[A-Za-z0-9_.]{1,64}$/.test(name)) throw illegalChars(name);
    out[name] = text;
  }
  return out;
}

/** Binance's signature payload: every parameter but `signature`, sorted by name, `name=value&…`. */
export function sortedPayload(params: WireParams): string {
  return Object.keys(params)
    .filter((name) => name !== "signature")
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join("&");
}
