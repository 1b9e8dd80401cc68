import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { requestMetadata } from "../http/request-metadata";
import { createRouter } from "../http/router";
import { withDatabase } from "../db/client";
import { describeError } from "../lib/logger";
import { authConfig } from "../lib/auth-config";
import { enforcePasswordLimit } from "../middleware/rate-limit";
import { serviceContext } from "../services/auth/context";
import { confirmPasswordReset, requestPasswordReset } from "../services/auth/password-reset";
import { normalizeEmail } from "../domain/auth/user-view";
import { routeGroup } from "./route-group";
import { NewPasswordSchema, SecurityEffectsSchema, jsonBody, jsonReply } from "./user-schemas";

const passwordReset = routeGroup({ tags: ["Authentication"], errors: [400, 415, 422] });

const requestRoute = passwordReset.post("/auth/password-reset/request", {
  summary: "Ask for a password reset link (always 202, whether or not the email has an account)",
  description:
    "When the email names an account, a single-use token valid for 30 minutes goes out in the `user.password_reset.requested` event for the mailer. The answer and its timing are the same for unknown emails: the lookup runs after the response. Limited like sign-in (per email and IP).",
  request: jsonBody(z.strictObject({ email: z.string().min(1).max(254) })),
  reply: { 202: jsonReply("Accepted", z.object({ status: z.literal("accepted") })) },
  errors: [429, 503],
});

const confirmRoute = passwordReset.post("/auth/password-reset/confirm", {
  summary: "Set a new password with the reset token; every session and API key of the account ends",
  description:
    "The token works once. 400 `INVALID_RESET_TOKEN` (unknown), `RESET_TOKEN_USED`, `RESET_TOKEN_EXPIRED`. Revokes every session and every API key, and holds withdrawals for 24 h; 2FA stays on.",
  request: jsonBody(z.strictObject({ token: z.string().min(1).max(256), new_password: NewPasswordSchema })),
  reply: { 200: jsonReply("Password set", z.object(SecurityEffectsSchema)) },
});

export const passwordResetRoutes = createRouter()
  .openapi(requestRoute, async (c) => {
    const { email } = c.req.valid("json");
    await enforcePasswordLimit(c, {
      name: "password-reset",
      max: authConfig(c.env).rateLimitLoginPer15Minutes,
      window: "15 m",
      identifier: `${normalizeEmail(email)}|${requestMetadata(c).ipAddress ?? "-"}`,
      message: "Too many password reset requests; try again later",
    });
    const ctx = serviceContext(c);
    const work = withDatabase(c.env, (db) => requestPasswordReset({ ...ctx, db }, email)).catch(
      (err: unknown) => ctx.log.error("password reset request failed", describeError(err)),
    );
    relayEventsAfterResponse(c, work);
    return c.json({ status: "accepted" as const }, 202);
  })
  .openapi(confirmRoute, async (c) => {
    const result = await confirmPasswordReset(serviceContext(c), c.req.valid("json"));
    relayEventsAfterResponse(c);
    return c.json(result, 200);
  });
