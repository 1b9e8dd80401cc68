import { z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { authenticate, authenticatedUser } from "../middleware/authenticate";
import { createApiKey, listApiKeys, revokeApiKey } from "../services/auth/api-keys";
import { serviceContext } from "../services/auth/context";
import {
  ApiKeySchema,
  IdParamSchema,
  PermissionSchema,
  TotpCodeSchema,
  jsonBody,
  jsonReply,
} from "./user-schemas";
import { signedInRoutes } from "./route-group";

// Keys are managed from a signed-in session only: no API key can create or revoke keys.
const apiKeys = signedInRoutes(["API keys"], [authenticate()]);

const IpSchema = z
  .string()
  .max(45)
  .regex(/^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]{2,45})$/, "an IPv4 or IPv6 address");

const listRoute = apiKeys.get("/users/me/api-keys", {
  summary: "This user's active API keys (never their secrets)",
  reply: { 200: jsonReply("Keys", z.object({ api_keys: z.array(ApiKeySchema) })) },
});

const createKeyRoute = apiKeys.post("/users/me/api-keys", {
  summary:
    "Create an API key (current password, `totp_code` with 2FA on); the secret is shown in this answer only",
  description:
    "Needs a verified email and `current_password` (403 `CURRENT_PASSWORD_REQUIRED` / `CURRENT_PASSWORD_INCORRECT`), and with 2FA on a fresh `totp_code` (403 `TWO_FACTOR_REQUIRED` / `INVALID_TWO_FACTOR_CODE`). A key with `withdraw` needs `ip_allowlist` (422 `IP_ALLOWLIST_REQUIRED`) and holds withdrawals for 24 h. Every key is revoked by a password change, a password reset and logout-all. " +
    "Sign requests with headers X-API-Key (the `key`), X-API-Timestamp (ms since the epoch) and X-API-Signature = hex HMAC-SHA256(secret, timestamp + METHOD + path-with-query + body).",
  request: jsonBody(
    z.strictObject({
      label: z.string().trim().min(1).max(100),
      permissions: z.array(PermissionSchema).min(1).max(3),
      ip_allowlist: z.array(IpSchema).max(20).optional(),
      // Optional in the schema so that a missing password is a 403, as a wrong one is.
      current_password: z.string().min(1).max(1024).optional(),
      totp_code: TotpCodeSchema.optional(),
    }),
  ),
  reply: {
    201: jsonReply(
      "Created",
      z.object({
        api_key: ApiKeySchema.extend({
          secret: z.string(),
          withdrawals_held_until: z
            .string()
            .nullable()
            .openapi({ description: "For a `withdraw` key: withdrawals are held until then (24 h)" }),
        }),
      }),
    ),
  },
  errors: [400, 404, 409, 415, 422, 503],
});

const revokeRoute = apiKeys.delete("/users/me/api-keys/{id}", {
  summary: "Revoke an API key",
  request: { params: IdParamSchema },
  reply: { 204: { description: "Revoked" } },
  errors: [400, 404],
});

export const apiKeyRoutes = createRouter()
  .openapi(listRoute, async (c) =>
    c.json({ api_keys: await listApiKeys(serviceContext(c), c.get("principal").userId) }, 200),
  )
  .openapi(createKeyRoute, async (c) => {
    const apiKey = await createApiKey(serviceContext(c), authenticatedUser(c), c.req.valid("json"));
    return c.json({ api_key: apiKey }, 201);
  })
  .openapi(revokeRoute, async (c) => {
    await revokeApiKey(serviceContext(c), c.get("principal").userId, c.req.valid("param").id);
    return c.body(null, 204);
  });
