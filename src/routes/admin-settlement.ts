import { createRoute, z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { errorResponses } from "../http/openapi-schemas";
import { requestMetadata } from "../http/request-metadata";
import { getDb } from "../http/resources";
import { createRouter } from "../http/router";
import { authenticate, requireAdmin } from "../middleware/authenticate";
import { listQuarantine, retryQuarantined } from "../services/trading/quarantine-admin";
import { bearerSecurity, jsonReply } from "./user-schemas";
import { NumberedPageQuery, numberedPage, pageResponses } from "../http/page-schemas";

const tags = ["Administration: settlement"];
const adminOnly = [authenticate(), requireAdmin];

const QuarantineSchema = z
  .object({
    id: z.string(),
    market: z.string(),
    seq: z.number().int(),
    epoch: z.string().nullable(),
    entry: z.record(z.string(), z.unknown()),
    reason: z.string(),
    status: z.enum(["open", "settled"]),
    created_at: z.string(),
    resolved_at: z.string().nullable(),
    resolved_by: z.string().nullable(),
  })
  .openapi("QuarantinedSettlementEntry");

const listRoute = createRoute({
  method: "get",
  path: "/admin/settlement/quarantine",
  tags,
  summary: "Settlement entries set aside because they broke an invariant, newest first (paginated)",
  description:
    "Each was moved past by its market's settlement, which went on without it; `reason` says what it broke. " +
    "Retry one once the cause is fixed.",
  security: bearerSecurity,
  middleware: adminOnly,
  request: {
    query: z.object({
      market: z.string().max(32).optional(),
      status: z.enum(["open", "settled"]).optional(),
      ...NumberedPageQuery,
    }),
  },
  responses: pageResponses("A page of quarantined entries", numberedPage("entries", QuarantineSchema)),
});

const retryRoute = createRoute({
  method: "post",
  path: "/admin/settlement/quarantine/{id}/retry",
  tags,
  summary: "Settle a quarantined entry now (409 with the reason when it still breaks an invariant)",
  security: bearerSecurity,
  middleware: adminOnly,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^[1-9]\d{0,18}$/)
        .openapi({ param: { name: "id", in: "path" } }),
    }),
  },
  responses: {
    200: jsonReply("Settled", z.object({ entry: QuarantineSchema })),
    ...errorResponses(400, 401, 403, 404, 409, 429),
  },
});

export const adminSettlementRoutes = createRouter()
  .openapi(listRoute, async (c) => {
    const { page, page_size, ...filter } = c.req.valid("query");
    return c.json(await listQuarantine(getDb(c), filter, { page, page_size }), 200);
  })
  .openapi(retryRoute, async (c) => {
    const entry = await retryQuarantined(
      getDb(c),
      c.req.valid("param").id,
      c.get("principal").userId,
      requestMetadata(c),
    );
    relayEventsAfterResponse(c);
    return c.json({ entry }, 200);
  });
