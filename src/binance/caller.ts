import type { Context } from "hono";
import type { Database } from "../db/client";
import type { AppEnv } from "../http/app-env";
import type { Principal } from "../http/principal";
import { getDb } from "../http/resources";
import { requestMetadata, type RequestMetadata } from "../http/request-metadata";
import { formatTraceparent } from "../lib/trace-context";

/**
 * Who asks and with what: everything the Binance face's order and account functions need, so
 * the REST routes and the WebSocket API (`/ws-api/v3`) call the same functions with parsed
 * parameters.
 */
export interface BinanceCaller {
  db: Database;
  env: Env;
  principal: Principal;
  metadata: RequestMetadata;
  /** The request's W3C trace context, continued by the market's object. */
  traceparent?: string;
}

/** The caller of a signed REST request (after `signed`, which sets the principal). */
export function callerOf(c: Context<AppEnv>): BinanceCaller {
  return {
    db: getDb(c),
    env: c.env,
    principal: c.get("principal"),
    metadata: requestMetadata(c),
    traceparent: formatTraceparent(c.get("trace")),
  };
}
