import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { requestMetadata } from "../http/request-metadata";
import { getRedis } from "../http/resources";
import { createRouter } from "../http/router";
import { publicJwks } from "../lib/access-token";
import { authConfig } from "../lib/auth-config";
import { AppError, ErrorCode } from "../lib/errors";
import { describeError } from "../lib/logger";
import { enforcePasswordLimit, enforceSignInSlowdown } from "../middleware/rate-limit";
import { register, verifyEmail } from "../services/auth/accounts";
import { serviceContext } from "../services/auth/context";
import { RefreshTokenReused, login, refresh } from "../services/auth/sessions";
import { clearSignInFailures, recordSignInFailure } from "../services/auth/sign-in-slowdown";
import { normalizeEmail } from "../domain/auth/user-view";
import { routeGroup } from "./route-group";
import {
  EmailSchema,
  NameSchema,
  NewPasswordSchema,
  RecoveryCodeSchema,
  TokenPairSchema,
  TotpCodeSchema,
  UserSchema,
  jsonBody,
  jsonReply,
  notBuiltOnEmail,
} from "./user-schemas";

/** Public routes that take a JSON body: each can be malformed, not JSON, or invalid. */
const auth = routeGroup({ tags: ["Authentication"], errors: [400, 415, 422] });

const registerRoute = auth.post("/auth/register", {
  summary: "Create an account (email verification token goes out in the user.registered event)",
  request: jsonBody(
    z
      .strictObject({
        email: EmailSchema,
        password: NewPasswordSchema,
        first_name: NameSchema,
        last_name: NameSchema,
      })
      .superRefine(notBuiltOnEmail),
  ),
  reply: { 201: jsonReply("Created", z.object({ user: UserSchema })) },
  errors: [409, 429],
});

const loginRoute = auth.post("/auth/login", {
  summary: "Exchange email and password for an access token and a refresh token",
  description:
    "Unknown email, wrong password and deleted account answer the same 401 `INVALID_CREDENTIALS`. With 2FA on, the right password without `totp_code` or `recovery_code` answers 401 `TWO_FACTOR_REQUIRED`, and a wrong or already used code 401 `INVALID_TWO_FACTOR_CODE` (each code works once; 10 code attempts per 15 minutes per account). Limited to 5 attempts per 15 minutes per email and IP, and per account from any IP slowed after 10 failures: each next attempt waits 1 s, 2 s, 4 s … up to 60 s after the previous one (429 with Retry-After; never a lockout, a successful sign-in resets it); fails closed (503) when the limiter is unavailable.",
  request: jsonBody(
    z.strictObject({
      email: z.string().min(1).max(254),
      password: z.string().min(1).max(1024),
      device_label: z.string().max(100).optional(),
      totp_code: TotpCodeSchema.optional(),
      recovery_code: RecoveryCodeSchema.optional(),
    }),
  ),
  reply: { 200: jsonReply("Signed in", TokenPairSchema) },
  errors: [401, 429, 503],
});

const refreshRoute = auth.post("/auth/refresh", {
  summary: "Rotate a refresh token (reuse of a rotated token revokes the whole session)",
  request: jsonBody(z.strictObject({ refresh_token: z.string().min(1).max(256) })),
  reply: { 200: jsonReply("New token pair", TokenPairSchema) },
  errors: [401],
});

const verifyEmailRoute = auth.post("/auth/verify-email", {
  summary: "Confirm the email address with the single-use token",
  request: jsonBody(z.strictObject({ token: z.string().min(1).max(256) })),
  reply: { 200: jsonReply("Verified", z.object({ user: UserSchema })) },
});

const jwksRoute = routeGroup({ tags: ["Authentication"] }).get("/.well-known/jwks.json", {
  summary: "Public keys that verify access tokens (EdDSA, by kid)",
  reply: {
    200: jsonReply(
      "JSON Web Key Set",
      z.object({
        keys: z.array(
          z.object({
            kty: z.string(),
            crv: z.string(),
            x: z.string(),
            kid: z.string(),
            alg: z.string(),
            use: z.string(),
          }),
        ),
      }),
    ),
  },
});

export const authRoutes = createRouter()
  .openapi(registerRoute, async (c) => {
    const user = await register(serviceContext(c), c.req.valid("json"));
    relayEventsAfterResponse(c);
    return c.json({ user }, 201);
  })
  .openapi(loginRoute, async (c) => {
    const input = c.req.valid("json");
    const email = normalizeEmail(input.email);
    const ip = requestMetadata(c).ipAddress ?? "-";
    await enforcePasswordLimit(c, {
      name: "login",
      max: authConfig(c.env).rateLimitLoginPer15Minutes,
      window: "15 m",
      identifier: `${email}|${ip}`,
      message: "Too many sign-in attempts; try again later",
    });
    // Per account from any IP: only failures count, so the owner is slowed only while someone guesses.
    await enforceSignInSlowdown(c, email);
    let pair;
    try {
      pair = await login(serviceContext(c), input);
    } catch (err) {
      if (err instanceof AppError && err.code === ErrorCode.INVALID_CREDENTIALS) {
        await recordSignInFailure(getRedis(c), email).catch((e: unknown) =>
          c.get("log").warn("sign-in failure not counted", describeError(e)),
        );
      }
      throw err;
    }
    c.executionCtx.waitUntil(clearSignInFailures(getRedis(c), email).catch(() => {}));
    relayEventsAfterResponse(c);
    return c.json(pair, 200);
  })
  .openapi(refreshRoute, async (c) => {
    try {
      return c.json(await refresh(serviceContext(c), c.req.valid("json").refresh_token), 200);
    } catch (err) {
      // Reuse revoked a session and recorded `user.session.reuse_detected`.
      if (err instanceof RefreshTokenReused) relayEventsAfterResponse(c);
      throw err;
    }
  })
  .openapi(verifyEmailRoute, async (c) => {
    const user = await verifyEmail(serviceContext(c), c.req.valid("json").token);
    return c.json({ user }, 200);
  });

export const jwksRoutes = createRouter().openapi(jwksRoute, async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json(
    {
      keys: (await publicJwks(c.env)) as {
        kty: string;
        crv: string;
        x: string;
        kid: string;
        alg: string;
        use: string;
      }[],
    },
    200,
  );
});
