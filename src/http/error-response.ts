import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./app-env";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; request_id: string };
}

/** The one error shape of the API: `{"error":{"code","message","details"?,"request_id"}}`. */
export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  details?: unknown,
  headers?: Record<string, string>,
): Response {
  const body: ErrorBody = {
    error: {
      code,
      message,
      ...(details === undefined ? {} : { details }),
      request_id: c.get("requestId") ?? "",
    },
  };
  return c.json(body, status, headers);
}
