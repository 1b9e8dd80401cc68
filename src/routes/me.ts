import { createRoute, z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { errorResponses } from "../http/openapi-schemas";
import { createRouter } from "../http/router";
import { authenticate, authenticatedUser } from "../middleware/authenticate";
import { enforcePasswordLimit } from "../middleware/rate-limit";
import { updateProfile } from "../services/auth/accounts";
import { serviceContext } from "../services/auth/context";
import { changePassword, listSessions, logout, logoutAll, revokeSession } from "../services/auth/sessions";
import {
  IdParamSchema,
  NameSchema,
  NewPasswordSchema,
  SecurityEffectsSchema,
  SessionSchema,
  TotpCodeSchema,
  UserSchema,
  bearerSecurity,
  jsonBody,
  jsonReply,
} from "./user-schemas";

const tags = ["Account"];
const sessionOnly = authenticate();
/** What the session-only routes share. */
const sessionRoute = { tags, security: bearerSecurity, middleware: sessionOnly };

const getMe = createRoute({
  method: "get",
  path: "/users/me",
  tags,
  summary: "The signed-in user's profile (session, or API key with `read`)",
  security: bearerSecurity,
  middleware: [authenticate({ permission: "read" })] as const,
  responses: {
    200: jsonReply("Profile", z.object({ user: UserSchema })),
    ...errorResponses(401, 403, 429),
  },
});

const patchMe = createRoute({
  ...sessionRoute,
  method: "patch",
  path: "/users/me",
  summary: "Update first and last name (any other field is refused with 422)",
  request: jsonBody(z.strictObject({ first_name: NameSchema.optional(), last_name: NameSchema.optional() })),
  responses: {
    200: jsonReply("Updated", z.object({ user: UserSchema })),
    ...errorResponses(400, 401, 403, 415, 422, 429),
  },
});

/** Attempts per user (each costs two Argon2id hashes, and a stolen session must not guess freely). */
export const PASSWORD_CHANGES_PER_15_MINUTES = 5;

const changePasswordRoute = createRoute({
  ...sessionRoute,
  method: "post",
  path: "/users/me/password",
  summary:
    "Change the password (current password, and `totp_code` with 2FA on); every other session and every API key is revoked",
  description:
    "Revokes every other session and every API key of the account, and holds withdrawals for 24 h. 403 `CURRENT_PASSWORD_INCORRECT`, `TWO_FACTOR_REQUIRED`, `INVALID_TWO_FACTOR_CODE`. Limited to 5 attempts per 15 minutes per user (429 with Retry-After).",
  request: jsonBody(
    z.strictObject({
      current_password: z.string().min(1).max(1024),
      new_password: NewPasswordSchema,
      totp_code: TotpCodeSchema.optional(),
    }),
  ),
  responses: {
    200: jsonReply("Changed", z.object(SecurityEffectsSchema)),
    ...errorResponses(400, 401, 403, 404, 415, 422, 429, 503),
  },
});

const logoutRoute = createRoute({
  ...sessionRoute,
  method: "post",
  path: "/users/me/logout",
  summary: "End this session (its refresh token and access tokens stop working)",
  responses: { 204: { description: "Signed out" }, ...errorResponses(401, 403, 429) },
});

const logoutAllRoute = createRoute({
  ...sessionRoute,
  method: "post",
  path: "/users/me/logout-all",
  summary: "End every session of this user, this one included, and revoke every API key",
  responses: {
    200: jsonReply(
      "Signed out everywhere",
      z.object({ revoked_sessions: z.number().int(), revoked_api_keys: z.number().int() }),
    ),
    ...errorResponses(401, 403, 429),
  },
});

const listSessionsRoute = createRoute({
  ...sessionRoute,
  method: "get",
  path: "/users/me/sessions",
  summary: "Live sessions of this user",
  responses: {
    200: jsonReply("Sessions", z.object({ sessions: z.array(SessionSchema) })),
    ...errorResponses(401, 403, 429),
  },
});

const revokeSessionRoute = createRoute({
  ...sessionRoute,
  method: "delete",
  path: "/users/me/sessions/{id}",
  summary: "Revoke one of this user's sessions",
  request: { params: IdParamSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(400, 401, 403, 404, 429) },
});

export const meRoutes = createRouter()
  .openapi(getMe, (c) => c.json({ user: authenticatedUser(c) }, 200))
  .openapi(patchMe, async (c) => {
    const user = await updateProfile(serviceContext(c), c.get("principal").userId, c.req.valid("json"));
    relayEventsAfterResponse(c);
    return c.json({ user }, 200);
  })
  .openapi(changePasswordRoute, async (c) => {
    const principal = c.get("principal");
    await enforcePasswordLimit(c, {
      name: "password-change",
      max: PASSWORD_CHANGES_PER_15_MINUTES,
      window: "15 m",
      identifier: principal.userId,
      message: "Too many password change attempts; try again later",
    });
    const result = await changePassword(
      serviceContext(c),
      principal.userId,
      principal.sessionId,
      c.req.valid("json"),
    );
    relayEventsAfterResponse(c);
    return c.json(result, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const principal = c.get("principal");
    await logout(serviceContext(c), principal.userId, principal.sessionId!);
    return c.body(null, 204);
  })
  .openapi(logoutAllRoute, async (c) => {
    return c.json(await logoutAll(serviceContext(c), c.get("principal").userId), 200);
  })
  .openapi(listSessionsRoute, async (c) => {
    const principal = c.get("principal");
    return c.json(
      { sessions: await listSessions(serviceContext(c), principal.userId, principal.sessionId) },
      200,
    );
  })
  .openapi(revokeSessionRoute, async (c) => {
    await revokeSession(serviceContext(c), c.get("principal").userId, c.req.valid("param").id);
    return c.body(null, 204);
  });
