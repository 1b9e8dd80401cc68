import type { Hook } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { ErrorCode } from "../lib/errors";
import { errorResponse } from "./error-response";

/** Field-level problems in a stable, client-friendly form. */
export function issuesOf(error: ZodError): { path: string; message: string; code: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.join("."),
    message: issue.message,
    code: issue.code,
  }));
}

/**
 * The only place that shapes a validation failure. A body that is valid JSON but breaks the
 * schema is a 422 (the request was understood, its content is wrong); bad path, query or
 * header parameters are a 400.
 */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (result.success) return;
  const isBody = result.target === "json" || result.target === "form";
  return errorResponse(
    c,
    isBody ? 422 : 400,
    ErrorCode.VALIDATION_FAILED,
    isBody ? "The request body is invalid" : `Invalid ${result.target} parameters`,
    { issues: issuesOf(result.error) },
  );
};
