import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_FAILED" }),
      message: z.string().openapi({ example: "The request body is invalid" }),
      details: z.unknown().optional(),
      request_id: z.string().openapi({ example: "7f1c1f9e-1b7a-4b8e-9b8a-2f0d1e2c3b4a" }),
    }),
  })
  .openapi("Error");

const DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request",
  401: "Missing or invalid credentials",
  403: "Not allowed",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Body too large",
  415: "Body is not JSON",
  422: "Well-formed but invalid",
  429: "Rate limited",
  503: "A dependency is unavailable",
};

/** `responses` entries for the listed error statuses, all in the one error shape. */
export function errorResponses(...statuses: (keyof typeof DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: DESCRIPTIONS[status] ?? "Error",
        content: { "application/json": { schema: ErrorSchema } },
      },
    ]),
  );
}
