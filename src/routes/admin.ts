import { createRoute, z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { errorResponses } from "../http/openapi-schemas";
import { NumberedPageQuery, numberedPage, pageResponses } from "../http/page-schemas";
import { createRouter } from "../http/router";
import { authenticate, requireAdmin } from "../middleware/authenticate";
import {
  getUser,
  listUsers,
  setUserStatus,
  softDeleteUser,
  updateKycStatus,
} from "../services/auth/admin-users";
import { listAuditLogs } from "../services/auth/audit-query";
import { serviceContext } from "../services/auth/context";
import { IdParamSchema, UserSchema, bearerSecurity, jsonBody, jsonReply } from "./user-schemas";

const tags = ["Administration"];
const adminOnly = [authenticate(), requireAdmin];

const KycStatusSchema = z.enum(["pending", "verified", "rejected"]);

const listUsersRoute = createRoute({
  method: "get",
  path: "/admin/users",
  tags,
  summary: "Search users by email or name, filter by role and KYC status (paginated)",
  security: bearerSecurity,
  middleware: adminOnly,
  request: {
    query: z.object({
      q: z.string().max(254).optional(),
      role: z.enum(["user", "admin"]).optional(),
      kyc_status: KycStatusSchema.optional(),
      include_deleted: z.enum(["true", "false"]).optional(),
      ...NumberedPageQuery,
    }),
  },
  responses: pageResponses("A page of users", numberedPage("users", UserSchema)),
});

/** What the routes on one user (`/admin/users/{id}…`) share: they answer the user as it is after. */
function oneUser(reply: string, ...errors: Parameters<typeof errorResponses>) {
  return {
    tags,
    security: bearerSecurity,
    middleware: adminOnly,
    request: { params: IdParamSchema },
    responses: { 200: jsonReply(reply, z.object({ user: UserSchema })), ...errorResponses(...errors) },
  };
}

const getUserRoute = createRoute({
  ...oneUser("User", 400, 401, 403, 404, 429),
  method: "get",
  path: "/admin/users/{id}",
  summary: "One user (deleted users included)",
});

const kycRoute = createRoute({
  ...oneUser("Updated", 400, 401, 403, 404, 415, 422, 429),
  method: "patch",
  path: "/admin/users/{id}/kyc",
  summary: "Set the KYC status (a reason is required when rejecting)",
  request: {
    params: IdParamSchema,
    ...jsonBody(z.strictObject({ status: KycStatusSchema, reason: z.string().trim().max(500).nullish() })),
  },
});

const statusRoute = createRoute({
  ...oneUser("Updated", 400, 401, 403, 404, 409, 415, 422, 429),
  method: "patch",
  path: "/admin/users/{id}/status",
  summary: "Ban or reinstate a user (a banned user is refused everywhere with 403 ACCOUNT_BANNED)",
  description:
    "A ban keeps the user's sessions and keys but every credential (access token, refresh token, API key, login, WebSocket) answers 403 ACCOUNT_BANNED; open sockets lose their private channels within seconds. `active` reinstates.",
  request: {
    params: IdParamSchema,
    ...jsonBody(z.strictObject({ status: z.enum(["active", "banned"]) })),
  },
});

const deleteRoute = createRoute({
  ...oneUser("Deleted", 400, 401, 403, 404, 409, 429),
  method: "delete",
  path: "/admin/users/{id}",
  summary: "Soft-delete a user: login refused, sessions and API keys revoked",
});

const AuditEntrySchema = z
  .object({
    id: z.string(),
    occurred_at: z.string(),
    actor_id: z.string().nullable(),
    actor_type: z.string(),
    action: z.string(),
    resource_type: z.string(),
    resource_id: z.string().nullable(),
    ip_address: z.string().nullable(),
    user_agent: z.string().nullable(),
    request_id: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi("AuditEntry");

const auditRoute = createRoute({
  method: "get",
  path: "/admin/audit-logs",
  tags,
  summary: "The audit log, newest first (filters, paginated)",
  security: bearerSecurity,
  middleware: adminOnly,
  request: {
    query: z.object({
      actor_id: z.uuid().optional(),
      action: z.string().max(100).optional(),
      resource_type: z.string().max(100).optional(),
      resource_id: z.string().max(200).optional(),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
      ...NumberedPageQuery,
    }),
  },
  responses: pageResponses("A page of audit entries", numberedPage("entries", AuditEntrySchema)),
});

export const adminRoutes = createRouter()
  .openapi(listUsersRoute, async (c) => {
    const { page, page_size, include_deleted, ...filter } = c.req.valid("query");
    return c.json(
      await listUsers(
        serviceContext(c),
        { ...filter, include_deleted: include_deleted === "true" },
        { page, page_size },
      ),
      200,
    );
  })
  .openapi(getUserRoute, async (c) =>
    c.json({ user: await getUser(serviceContext(c), c.req.valid("param").id) }, 200),
  )
  .openapi(kycRoute, async (c) => {
    const { status, reason } = c.req.valid("json");
    const user = await updateKycStatus(
      serviceContext(c),
      c.req.valid("param").id,
      status,
      reason ?? null,
      c.get("principal").userId,
    );
    relayEventsAfterResponse(c);
    return c.json({ user }, 200);
  })
  .openapi(statusRoute, async (c) => {
    const user = await setUserStatus(
      serviceContext(c),
      c.req.valid("param").id,
      c.req.valid("json").status,
      c.get("principal").userId,
    );
    relayEventsAfterResponse(c);
    return c.json({ user }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const user = await softDeleteUser(serviceContext(c), c.req.valid("param").id, c.get("principal").userId);
    relayEventsAfterResponse(c);
    return c.json({ user }, 200);
  })
  .openapi(auditRoute, async (c) => {
    const { page, page_size, ...filter } = c.req.valid("query");
    return c.json(await listAuditLogs(serviceContext(c), filter, { page, page_size }), 200);
  });
