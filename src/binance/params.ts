import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { BinanceError } from "./binance-errors";
import { parameterError } from "./binance-router";

const FORM = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

/** The raw query string (without `?`) and form body of a request, as Binance signs them. */
export async function rawParams(c: Context<AppEnv>): Promise<{ query: string; body: string }> {
  const url = c.req.url;
  const at = url.indexOf("?");
  const query = at < 0 ? "" : url.slice(at + 1);
  const hasBody = c.req.method !== "GET" && c.req.method !== "HEAD";
  const body = hasBody && FORM.test(c.req.header("content-type") ?? "") ? await c.req.text() : "";
  return { query, body };
}

/**
 * Binance takes parameters from the query string or a form body, or both. A name sent twice is
 * -1101, as Binance answers it.
 */
export async function mergedParams(c: Context<AppEnv>): Promise<Record<string, string>> {
  const { query, body } = await rawParams(c);
  const out: Record<string, string> = {};
  for (const part of [query, body]) {
    for (const [k, v] of new URLSearchParams(part)) {
      if (k in out) throw new BinanceError(400, -1101, "Duplicate values for a parameter detected.");
      out[k] = v;
    }
  }
  return out;
}

/** Refuses a parameter sent twice (-1101) before a route's schema sees the parameters. */
export const singleValued: MiddlewareHandler<AppEnv> = async (c, next) => {
  await mergedParams(c);
  await next();
};

/** The request's parameters checked against a route's schema (-1102 missing, -1100 malformed). */
export async function binanceParams<T extends z.ZodType>(c: Context<AppEnv>, schema: T): Promise<z.infer<T>> {
  const parsed = schema.safeParse(await mergedParams(c));
  if (!parsed.success) throw parameterError(parsed.error, await mergedParams(c));
  return parsed.data;
}

/** Parameter shapes shared by the routes (all strings on the wire, as Binance sends them). */
export const P = {
  symbol: z
    .string()
    .regex(/^[A-Z0-9]{2,20}$/)
    .openapi({ example: "BTCUSDT" }),
  decimal: z.string().regex(/^\d{1,20}(\.\d{1,20})?$/),
  int: z.string().regex(/^\d{1,19}$/),
  limit: (max: number) =>
    z
      .string()
      .regex(/^\d{1,5}$/)
      .refine((v) => Number(v) >= 1 && Number(v) <= max, `1..${max}`),
  /** Signed requests: the signature check itself happens in `signed` (signature.ts). */
  timestamp: z.string().regex(/^\d{1,16}$/),
  recvWindow: z
    .string()
    .regex(/^\d{1,16}(\.\d{1,3})?$/)
    .optional(),
  signature: z.string(),
};

/** The parameters every signed request carries (checked by `signed`, declared for the docs). */
export const SignedParams = z.object({
  timestamp: P.timestamp,
  recvWindow: P.recvWindow,
  signature: P.signature,
});
