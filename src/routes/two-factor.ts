import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { createRouter } from "../http/router";
import { authenticate } from "../middleware/authenticate";
import { serviceContext } from "../services/auth/context";
import { disableTwoFactor, enableTwoFactor, setupTwoFactor } from "../services/auth/two-factor";
import { signedInRoutes } from "./route-group";
import { TotpCodeSchema, jsonBody, jsonReply } from "./user-schemas";

// Only a signed-in session manages 2FA: API keys never reach these routes.
const twoFactor = signedInRoutes(["Two-factor authentication"], [authenticate()]);
const HeldUntil = z.string().openapi({ description: "Withdrawals are held until this instant (24 h)" });

const setupRoute = twoFactor.post("/users/me/2fa/setup", {
  summary: "Start TOTP 2FA: a new secret for the authenticator app (not in force until enabled)",
  description:
    "Show `otpauth_url` as a QR code (or the base32 `secret` for manual entry), then confirm with `2fa/enable`. Calling it again before enabling replaces the secret. 409 `TWO_FACTOR_ALREADY_ENABLED` while 2FA is on.",
  reply: {
    200: jsonReply(
      "The secret, shown once",
      z.object({
        secret: z.string().openapi({ example: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" }),
        otpauth_url: z.string().openapi({ example: "otpauth://totp/Pandora:alice%40example.com?..." }),
      }),
    ),
  },
  errors: [404, 409],
});

const enableRoute = twoFactor.post("/users/me/2fa/enable", {
  summary: "Turn 2FA on with the app's current code; answers the one-time recovery codes (shown once)",
  description:
    "From now on sign-in needs `totp_code` (or `recovery_code`), and withdrawals, API key creation, password change and 2FA disable need a fresh `totp_code`. Each code works once. Withdrawals are held for 24 h. 403 `INVALID_TWO_FACTOR_CODE`; 409 `TWO_FACTOR_NOT_SET_UP` or `TWO_FACTOR_ALREADY_ENABLED`; 429 after 10 code attempts in 15 minutes.",
  request: jsonBody(z.strictObject({ code: TotpCodeSchema })),
  reply: {
    200: jsonReply(
      "2FA is on",
      z.object({
        recovery_codes: z
          .array(z.string())
          .openapi({ description: "Ten single-use codes; store them offline" }),
        withdrawals_held_until: HeldUntil,
      }),
    ),
  },
  errors: [400, 404, 409, 415, 422, 503],
});

const disableRoute = twoFactor.post("/users/me/2fa/disable", {
  summary: "Turn 2FA off with the password and a code (TOTP or a recovery code)",
  description:
    "Withdrawals are held for 24 h. 403 `CURRENT_PASSWORD_INCORRECT` or `INVALID_TWO_FACTOR_CODE`; 409 `TWO_FACTOR_NOT_ENABLED`.",
  request: jsonBody(
    z.strictObject({
      code: z
        .string()
        .min(6)
        .max(32)
        .regex(/^[A-Za-z0-9 -]+$/)
        .openapi({ description: "A current TOTP code or an unused recovery code" }),
      password: z.string().min(1).max(1024),
    }),
  ),
  reply: { 200: jsonReply("2FA is off", z.object({ withdrawals_held_until: HeldUntil })) },
  errors: [400, 404, 409, 415, 422, 503],
});

export const twoFactorRoutes = createRouter()
  .openapi(setupRoute, async (c) => {
    const result = await setupTwoFactor(serviceContext(c), c.get("principal").userId);
    return c.json(result, 200);
  })
  .openapi(enableRoute, async (c) => {
    const result = await enableTwoFactor(
      serviceContext(c),
      c.get("principal").userId,
      c.req.valid("json").code,
    );
    relayEventsAfterResponse(c);
    return c.json(result, 200);
  })
  .openapi(disableRoute, async (c) => {
    const result = await disableTwoFactor(serviceContext(c), c.get("principal").userId, c.req.valid("json"));
    relayEventsAfterResponse(c);
    return c.json(result, 200);
  });
