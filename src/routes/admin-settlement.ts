import { z } from "@hono/zod-openapi";
import { relayEventsAfterResponse } from "../http/after-response";
import { requestMetadata } from "../http/request-metadata";
import { getDb } from "../http/resources";
import { createRouter } from "../http/router";
import { listQuarantine, retryQuarantined } from "../services/trading/quarantine-admin";
import { adminOnlyRoutes } from "./route-group";
import { jsonReply } from "./user-schemas";
import { NumberedPageQuery, numberedPage } from "../http/page-schemas";

const settlement = adminOnlyRoutes(["Administration: settlement"]);

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

const listRoute = settlement.get("/admin/settlement/quarantine", {
  summary: "Settlement entries set aside because they broke an invariant, newest first (paginated)",
  description:
    "Each was moved past by its market's settlement, which went on without it; `reason` says what it broke. " +
    "Retry one once the cause is fixed.",
  request: {
    query: z.object({
      market: z.string().max(32).optional(),
      status: z.enum(["open", "settled"]).optional(),
      ...NumberedPageQuery,
    }),
  },
  reply: { 200: jsonReply("A page of quarantined entries", numberedPage("entries", QuarantineSchema)) },
  errors: [400],
});

const retryRoute = settlement.post("/admin/settlement/quarantine/{id}/retry", {
  summary: "Settle a quarantined entry now (409 with the reason when it still breaks an invariant)",
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^[1-9]\d{0,18}$/)
        .openapi({ param: { name: "id", in: "path" } }),
    }),
  },
  reply: { 200: jsonReply("Settled", z.object({ entry: QuarantineSchema })) },
  errors: [400, 404, 409],
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
