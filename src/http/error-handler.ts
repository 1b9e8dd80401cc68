import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, ErrorCode } from "../lib/errors";
import { describeError } from "../lib/logger";
import type { AppEnv } from "./app-env";
import { errorResponse } from "./error-response";

function fromHttpException(c: Context<AppEnv>, err: HTTPException): Response {
  // Hono's validators throw 400 "Malformed JSON in request body" for unparsable JSON.
  if (err.status === 400 && /json/i.test(err.message)) {
    return errorResponse(c, 400, ErrorCode.MALFORMED_JSON, "The request body is not valid JSON");
  }
  if (err.status === 413) {
    return errorResponse(c, 413, ErrorCode.PAYLOAD_TOO_LARGE, "The request body is too large");
  }
  const status = err.status >= 500 ? 500 : err.status;
  const code =
    status === 401 ? ErrorCode.UNAUTHORIZED : status === 403 ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST;
  return errorResponse(
    c,
    status,
    code,
    status === 500 ? "Internal server error" : err.message || "Bad request",
  );
}

/** Turns every thrown value into the JSON error shape; internals never reach the client. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof AppError) {
    if (err.status >= 500) c.get("log")?.error("request failed", { code: err.code, ...describeError(err) });
    return errorResponse(c, err.status, err.code, err.message, err.details, err.headers);
  }
  if (err instanceof HTTPException) return fromHttpException(c, err);
  c.get("log")?.error("unhandled error", describeError(err));
  return errorResponse(c, 500, ErrorCode.INTERNAL_ERROR, "Internal server error");
};

export const onNotFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, 404, ErrorCode.NOT_FOUND, `No route for ${c.req.method} ${c.req.path}`);

export const onMethodNotAllowed = (c: Context<AppEnv>, allowed: string[]) =>
  errorResponse(
    c,
    405,
    ErrorCode.METHOD_NOT_ALLOWED,
    `${c.req.method} is not allowed here`,
    { allowed },
    {
      Allow: allowed.join(", "),
    },
  );
