import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { NumberedPageQuery, numberedPage } from "../http/page-schemas";
import { createRouter } from "../http/router";
import {
  getUser,
  listUsers,
  setUserStatus,
  softDeleteUser,
  updateKycStatus,
} from "../services/auth/admin-users";
import { listAuditLogs } from "../services/auth/audit-query";
import { serviceContext } from "../services/auth/context";
import { adminOnlyRoutes } from "./route-group";
import { IdParamSchema, UserSchema, jsonBody, jsonReply } from "./user-schemas";

const admin = adminOnlyRoutes(["Administration"]);

const KycStatusSchema = z.enum(["pending", "verified", "rejected"]);

const listUsersRoute = admin.get("/admin/users", {
  summary: "Search users by email or name, filter by role and KYC status (paginated)",
  request: {
    query: z.object({
      q: z.string().max(254).optional(),
      role: z.enum(["user", "admin"]).optional(),
      kyc_status: KycStatusSchema.optional(),
      include_deleted: z.enum(["true", "false"]).optional(),
      ...NumberedPageQuery,
    }),
  },
  reply: { 200: jsonReply("A page of users", numberedPage("users", UserSchema)) },
  errors: [400],
});

/** The routes on one user (`/admin/users/{id}…`) answer the user as it is after. */
const userReply = (description: string) => ({ 200: jsonReply(description, z.object({ user: UserSchema })) });

const getUserRoute = admin.get("/admin/users/{id}", {
  summary: "One user (deleted users included)",
  request: { params: IdParamSchema },
  reply: userReply("User"),
  errors: [400, 404],
});

const kycRoute = admin.patch("/admin/users/{id}/kyc", {
  summary: "Set the KYC status (a reason is required when rejecting)",
  request: {
    params: IdParamSchema,
    ...jsonBody(z.strictObject({ status: KycStatusSchema, reason: z.string().trim().max(500).nullish() })),
  },
  reply: userReply("Updated"),
  errors: [400, 404, 415, 422],
});

const statusRoute = admin.patch("/admin/users/{id}/status", {
  summary: "Ban or reinstate a user (a banned user is refused everywhere with 403 ACCOUNT_BANNED)",
  description:
    "A ban keeps the user's sessions and keys but every credential (access token, refresh token, API key, login, WebSocket) answers 403 ACCOUNT_BANNED; open sockets lose their private channels within seconds. `active` reinstates.",
  request: {
    params: IdParamSchema,
    ...jsonBody(z.strictObject({ status: z.enum(["active", "banned"]) })),
  },
  reply: userReply("Updated"),
  errors: [400, 404, 409, 415, 422],
});

const deleteRoute = admin.delete("/admin/users/{id}", {
  summary: "Soft-delete a user: login refused, sessions and API keys revoked",
  request: { params: IdParamSchema },
  reply: userReply("Deleted"),
  errors: [400, 404, 409],
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

const auditRoute = admin.get("/admin/audit-logs", {
  summary: "The audit log, newest first (filters, paginated)",
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
  reply: { 200: jsonReply("A page of audit entries", numberedPage("entries", AuditEntrySchema)) },
  errors: [400],
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
