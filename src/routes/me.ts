import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
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
  jsonBody,
  jsonReply,
} from "./user-schemas";
import { signedInRoutes } from "./route-group";

const account = signedInRoutes(["Account"], authenticate());

const getMe = account.get("/users/me", {
  summary: "The signed-in user's profile (session, or API key with `read`)",
  middleware: [authenticate({ permission: "read" })],
  reply: { 200: jsonReply("Profile", z.object({ user: UserSchema })) },
});

const patchMe = account.patch("/users/me", {
  summary: "Update first and last name (any other field is refused with 422)",
  request: jsonBody(z.strictObject({ first_name: NameSchema.optional(), last_name: NameSchema.optional() })),
  reply: { 200: jsonReply("Updated", z.object({ user: UserSchema })) },
  errors: [400, 415, 422],
});

/** Attempts per user (each costs two Argon2id hashes, and a stolen session must not guess freely). */
export const PASSWORD_CHANGES_PER_15_MINUTES = 5;

const changePasswordRoute = account.post("/users/me/password", {
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
  reply: { 200: jsonReply("Changed", z.object(SecurityEffectsSchema)) },
  errors: [400, 404, 415, 422, 503],
});

const logoutRoute = account.post("/users/me/logout", {
  summary: "End this session (its refresh token and access tokens stop working)",
  reply: { 204: { description: "Signed out" } },
});

const logoutAllRoute = account.post("/users/me/logout-all", {
  summary: "End every session of this user, this one included, and revoke every API key",
  reply: {
    200: jsonReply(
      "Signed out everywhere",
      z.object({ revoked_sessions: z.number().int(), revoked_api_keys: z.number().int() }),
    ),
  },
});

const listSessionsRoute = account.get("/users/me/sessions", {
  summary: "Live sessions of this user",
  reply: { 200: jsonReply("Sessions", z.object({ sessions: z.array(SessionSchema) })) },
});

const revokeSessionRoute = account.delete("/users/me/sessions/{id}", {
  summary: "Revoke one of this user's sessions",
  request: { params: IdParamSchema },
  reply: { 204: { description: "Revoked" } },
  errors: [400, 404],
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
