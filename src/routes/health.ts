import { createRoute, z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { errorResponses } from "../http/openapi-schemas";
import { getDb, getRedis } from "../http/resources";
import { serviceUnavailable } from "../lib/errors";
import { enforceLimit } from "../middleware/rate-limit";
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

const CheckSchema = z.enum(["ok", "unreachable"]).openapi({ example: "ok" });
/** Per client IP (readiness costs a Postgres and a Redis round trip). */
export const READY_PER_MINUTE = 60;
const ready = createRoute({
  method: "get",
  path: "/ready",
  tags: ["Operations"],
  summary: "Readiness: Postgres and Redis are reachable",
  description: `503 names the dependencies that did not answer, nothing more (their errors are logged). ${READY_PER_MINUTE} per minute per client IP.`,
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
    ...errorResponses(429, 503),
  },
});

export const healthRoutes = createRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(ready, async (c) => {
    const ip = c.req.header("cf-connecting-ip");
    if (ip) await enforceLimit(c, "ready", READY_PER_MINUTE, ip);
    const result = await checkReadiness(getDb(c), getRedis(c), c.get("log"));
    if (result.ready) return c.json({ status: "ready" as const, checks: result.checks }, 200);
    const failing = Object.entries(result.checks)
      .filter(([, v]) => v !== "ok")
      .map(([name]) => name);
    throw serviceUnavailable(`Not ready: ${failing.join(", ")} unreachable`, { failing });
  });
