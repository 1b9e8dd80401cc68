import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ZodError } from "zod";
import type { AppEnv } from "../http/app-env";
import { BinanceError, binanceErrorResponse, illegalChars, mandatory } from "./binance-errors";
import { mergedParams } from "./params";

/**
 * Binance's answer to a parameter that is missing (-1102) or malformed (-1100). `sent`: the
 * request's parameters, which tell a missing one from a bad one whatever the schema's type.
 */
export function parameterError(error: ZodError, sent?: Record<string, string>): BinanceError {
  const issue = error.issues[0];
  const name = String(issue?.path[0] ?? "parameter");
  if (!issue) return illegalChars(name);
  const missing = sent
    ? !(name in sent)
    : issue.code === "invalid_type" && /received undefined/.test(issue.message);
  if (missing) return mandatory(name);
  if (issue.code === "invalid_value") {
    if (name === "interval") return new BinanceError(400, -1120, "Invalid interval.");
    if (name === "type") return new BinanceError(400, -1116, "Invalid orderType.");
    if (name === "side") return new BinanceError(400, -1117, "Invalid side.");
    if (name === "timeInForce") return new BinanceError(400, -1115, "Invalid timeInForce.");
    if (name === "aboveType" || name === "belowType") {
      return new BinanceError(400, -1158, "Order type not supported in OCO.");
    }
  }
  return illegalChars(name);
}

const hook: Hook<unknown, AppEnv, string, unknown> = async (result, c) => {
  if (result.success) return;
  const sent = await mergedParams(c as Context<AppEnv>).catch(() => undefined);
  return binanceErrorResponse(c as Context<AppEnv>, parameterError(result.error, sent));
};

/** A router of the Binance face: its validation failures and errors in Binance's shape. */
export function createBinanceRouter(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: hook });
  app.onError((err, c) => binanceErrorResponse(c, err));
  return app;
}
