import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { errorResponse } from "../http/error-response";
import { ErrorCode } from "../lib/errors";
import { productionRefusal } from "../lib/production-secrets";

/** Production with weak or placeholder secrets answers every request 503 (see production-secrets.ts). */
export const productionGuard: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (productionRefusal(c.env, c.get("log")).length === 0) return next();
  return errorResponse(
    c,
    503,
    ErrorCode.SERVICE_UNAVAILABLE,
    "The service is not configured for production; the operators have been told",
  );
};
