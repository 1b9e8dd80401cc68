import { z } from "@hono/zod-openapi";
import { createRouter } from "../http/router";
import { getDb, getRedis } from "../http/resources";
import { serviceUnavailable } from "../lib/errors";
import { enforceLimit } from "../middleware/rate-limit";
import { checkReadiness } from "../services/readiness";
import { routeGroup } from "./route-group";
import { jsonReply } from "./user-schemas";

const operations = routeGroup({ tags: ["Operations"] });

const health = operations.get("/health", {
  summary: "Liveness: the Worker is running (no I/O)",
  reply: { 200: jsonReply("Alive", z.object({ status: z.literal("ok") })) },
});

const CheckSchema = z.enum(["ok", "unreachable"]).openapi({ example: "ok" });
/** Per client IP (readiness costs a Postgres and a Redis round trip). */
export const READY_PER_MINUTE = 60;
const ready = operations.get("/ready", {
  summary: "Readiness: Postgres and Redis are reachable",
  description: `503 names the dependencies that did not answer, nothing more (their errors are logged). ${READY_PER_MINUTE} per minute per client IP.`,
  reply: {
    200: jsonReply(
      "Ready to serve",
      z.object({
        status: z.literal("ready"),
        checks: z.object({ postgres: CheckSchema, redis: CheckSchema }),
      }),
    ),
  },
  errors: [429, 503],
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
