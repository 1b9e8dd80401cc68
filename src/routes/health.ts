import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { errorResponses } from "../http/openapi-schemas";
import { getDb, getRedis } from "../http/resources";
import { serviceUnavailable } from "../lib/errors";
import { checkReadiness } from "../services/readiness";

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Operations"],
  summary: "Liveness: the Worker is running (no I/O)",
  responses: {
    200: {
      description: "Alive",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
  },
});

const CheckSchema = z.string().openapi({ example: "ok" });
const ready = createRoute({
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  summary: "Readiness: Postgres and Redis are reachable",
  responses: {
    200: {
      description: "Ready to serve",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("ready"),
            checks: z.object({ postgres: CheckSchema, redis: CheckSchema }),
          }),
        },
      },
    },
    ...errorResponses(503),
  },
});

export const healthRoutes = createRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(ready, async (c) => {
    const result = await checkReadiness(getDb(c), getRedis(c));
    if (result.ready) return c.json({ status: "ready" as const, checks: result.checks }, 200);
    const failing = Object.entries(result.checks)
      .filter(([, v]) => v !== "ok")
      .map(([name]) => name);
    throw serviceUnavailable(`Not ready: ${failing.join(", ")} unreachable`, {
      failing,
      checks: result.checks,
    });
  });
