import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../http/app-env";
import { AppError, ErrorCode } from "../lib/errors";
import { describeError } from "../lib/logger";

/**
 * Binance's error body `{"code": -1121, "msg": "Invalid symbol."}` with Binance's codes
 * (binance-spot-api-docs errors.md) and HTTP statuses: 4XX for a bad request, 401 for an API key
 * refused, 429 past a rate limit, 5XX when the outcome is unknown.
 */
export class BinanceError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: number,
    message: string,
    readonly headers?: Record<string, string>,
    /** Binance's `data` beside `code` and `msg` (cancelReplace's partial failures). */
    readonly data?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "BinanceError";
  }
}

export const mandatory = (name: string) =>
  new BinanceError(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
export const eitherMandatory = (a: string, b: string) =>
  new BinanceError(400, -1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`);
export const illegalChars = (name: string) =>
  new BinanceError(400, -1100, `Illegal characters found in parameter '${name}'.`);
export const invalidSymbol = () => new BinanceError(400, -1121, "Invalid symbol.");
export const orderRejected = (msg: string) => new BinanceError(400, -2010, msg);
export const unknownOrderCancel = () => new BinanceError(400, -2011, "Unknown order sent.");
export const noSuchOrder = () => new BinanceError(400, -2013, "Order does not exist.");
export const apiKeyFormat = () => new BinanceError(401, -2014, "API-key format invalid.");
export const apiKeyRejected = () =>
  new BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.");
export const badSignature = () => new BinanceError(400, -1022, "Signature for this request is not valid.");

/** The market rules' refusals (order-input.ts) as Binance's filter failures. */
const FILTER_OF: Record<string, string> = {
  [ErrorCode.INVALID_TICK]: "PRICE_FILTER",
  [ErrorCode.PRICE_OUT_OF_RANGE]: "PRICE_FILTER",
  [ErrorCode.PERCENT_PRICE]: "PERCENT_PRICE_BY_SIDE",
  [ErrorCode.MAX_OPEN_ORDERS]: "MAX_NUM_ORDERS",
  [ErrorCode.INVALID_LOT]: "LOT_SIZE",
  [ErrorCode.QUANTITY_TOO_SMALL]: "LOT_SIZE",
  [ErrorCode.QUANTITY_TOO_LARGE]: "LOT_SIZE",
  [ErrorCode.NOTIONAL_TOO_SMALL]: "NOTIONAL",
};

/** What the book said, in Binance's words for -2010 (errors.md, "Messages for -2010"). */
const REJECT_MESSAGE: Record<string, string> = {
  [ErrorCode.INSUFFICIENT_FUNDS]: "Account has insufficient balance for requested action.",
  [ErrorCode.DUPLICATE_CLIENT_ORDER_ID]: "Duplicate order sent.",
  [ErrorCode.MARKET_HALTED]: "Market is closed.",
  [ErrorCode.MARKET_CANCEL_ONLY]: "Market is closed.",
  [ErrorCode.KYC_REQUIRED]: "This account may not place or cancel orders.",
  [ErrorCode.UNBOUNDED_BUY]:
    "Market and stop-loss BUY orders need quoteOrderQty (or a STOP_LOSS_LIMIT): a buy without a price bound is not accepted.",
  POST_ONLY_WOULD_TAKE: "Order would immediately match and take.",
};

function fromAppError(err: AppError): BinanceError {
  const field = (err.details as { field?: string } | undefined)?.field;
  const reason = (err.details as { reason?: string } | undefined)?.reason;
  // A rule that names its filter (src/domain/iceberg-parts.ts) is that filter's failure.
  const filter = (err.details as { filter?: string } | undefined)?.filter ?? FILTER_OF[err.code];
  if (filter) return new BinanceError(400, -1013, `Filter failure: ${filter}`);
  if (err.code === ErrorCode.INVALID_PRICE || err.code === ErrorCode.INVALID_QUANTITY) {
    return new BinanceError(400, -1111, `Parameter '${field ?? "quantity"}' has too much precision.`);
  }
  const reject = REJECT_MESSAGE[err.code] ?? (reason ? REJECT_MESSAGE[reason] : undefined);
  if (reject) return orderRejected(reject);
  switch (err.code) {
    case ErrorCode.ORDER_REJECTED:
      return orderRejected(reason ?? err.message);
    case ErrorCode.INVALID_ORDER:
      return new BinanceError(400, -1014, "Unsupported order combination.");
    case ErrorCode.MARKET_NOT_FOUND:
      return invalidSymbol();
    case ErrorCode.RATE_LIMITED:
      return new BinanceError(429, -1003, "Too many requests; current limit of this account was reached.", {
        ...err.headers,
      });
    case ErrorCode.TOO_MANY_ORDERS:
      return new BinanceError(429, -1015, `Too many new orders; ${err.message}.`, { ...err.headers });
    case ErrorCode.SERVICE_UNAVAILABLE:
      return new BinanceError(
        503,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
      );
    case ErrorCode.API_REQUEST_REPLAYED:
    case ErrorCode.INVALID_API_SIGNATURE:
      return reason === "bad_signature" || err.code === ErrorCode.API_REQUEST_REPLAYED
        ? badSignature()
        : apiKeyRejected();
    case ErrorCode.ACCOUNT_BANNED:
    case ErrorCode.INSUFFICIENT_PERMISSION:
    case ErrorCode.FORBIDDEN:
    case ErrorCode.UNAUTHORIZED:
      return apiKeyRejected();
  }
  return new BinanceError(
    err.status >= 500 ? 500 : 400,
    -1000,
    "An unknown error occurred while processing the request.",
  );
}

/** Any thrown value as Binance's error: the domain's codes mapped, internals never shown. */
export function toBinanceError(err: unknown): BinanceError {
  if (err instanceof BinanceError) return err;
  if (err instanceof AppError) return fromAppError(err);
  if (err instanceof HTTPException && err.status < 500) {
    return new BinanceError(400, -1100, "Illegal characters found in a parameter.");
  }
  return new BinanceError(500, -1000, "An unknown error occurred while processing the request.");
}

export function binanceErrorResponse(c: Context<AppEnv>, err: unknown): Response {
  const e = toBinanceError(err);
  if (e.code === -1000) c.get("log")?.error("binance request failed", describeError(err));
  return c.json({ code: e.code, msg: e.message, ...(e.data ? { data: e.data } : {}) }, e.status, e.headers);
}
