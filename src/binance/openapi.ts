import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import type { Permission } from "../http/principal";
import { orderCountHeaders } from "./order-count";
import { singleValued } from "./params";
import { apiKeyOnly, signed } from "./signature";
import { weight } from "./weights";

export const BinanceErrorSchema = z
  .object({
    code: z.number().int().openapi({ example: -1121 }),
    msg: z.string().openapi({ example: "Invalid symbol." }),
  })
  .openapi("BinanceError");

const errors = {
  400: { description: "Binance error code", content: { "application/json": { schema: BinanceErrorSchema } } },
  401: {
    description: "API key refused (-2014, -2015)",
    content: { "application/json": { schema: BinanceErrorSchema } },
  },
  429: {
    description: "Request weight exceeded (-1003)",
    content: { "application/json": { schema: BinanceErrorSchema } },
  },
  418: {
    description: "IP banned for not backing off after 429s (-1003, `Retry-After`)",
    content: { "application/json": { schema: BinanceErrorSchema } },
  },
};

const signedSecurity = [{ binanceApiKey: [] }];

interface BinanceRouteOptions {
  method: "get" | "post" | "put" | "delete";
  path: string;
  summary: string;
  /** Parameters: the query string, or for POST a form body (Binance takes either). */
  params?: z.ZodObject;
  /** Binance's request weight, fixed or by the query (weights.ts). */
  weight: Parameters<typeof weight>[0];
  /** A SIGNED endpoint and the permission its API key needs (signature.ts). */
  signed?: Permission;
  /** MARKET_DATA: an `X-MBX-APIKEY` is needed, no signature (signature.ts `apiKeyOnly`). */
  apiKey?: boolean;
  /** A placement: counted for `X-MBX-ORDER-COUNT-*` (order-count.ts). */
  places?: boolean;
  description?: string;
}

/**
 * A route of the Binance face under /api/v3, tagged "Binance-compatible" in /openapi.json.
 * The reply is Binance's JSON (see docs/binance-api.md), so it is documented loosely.
 */
export function binanceRoute(o: BinanceRouteOptions) {
  const request: RouteConfig["request"] =
    o.params === undefined
      ? undefined
      : o.method === "post" || o.method === "put"
        ? {
            body: {
              content: { "application/x-www-form-urlencoded": { schema: o.params } },
              required: false,
            },
          }
        : { query: o.params };
  return createRoute({
    method: o.method,
    path: `/api/v3${o.path}`,
    tags: ["Binance-compatible"],
    summary: o.summary,
    ...(o.description ? { description: o.description } : {}),
    ...(o.signed || o.apiKey ? { security: signedSecurity } : {}),
    middleware: [
      singleValued,
      weight(o.weight),
      ...(o.signed ? [signed(o.signed)] : []),
      ...(o.apiKey ? [apiKeyOnly] : []),
      ...(o.places ? [orderCountHeaders] : []),
    ],
    request,
    responses: {
      200: { description: "Binance's reply", content: { "application/json": { schema: z.any() } } },
      ...errors,
    },
  });
}
