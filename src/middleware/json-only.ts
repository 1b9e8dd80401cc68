import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { ErrorCode } from "../lib/errors";
import { errorResponse } from "../http/error-response";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/** The API speaks JSON only: a request body of another media type is refused up front (415). */
export const jsonOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (WITH_BODY.has(c.req.method)) {
    const type = c.req.header("content-type");
    const length = c.req.header("content-length");
    const hasBody = type !== undefined || (length !== undefined && length !== "0");
    if (hasBody && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type ?? "")) {
      return errorResponse(
        c,
        415,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        "Send the request body as application/json",
      );
    }
  }
  await next();
};
