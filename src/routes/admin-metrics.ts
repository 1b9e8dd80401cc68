import { z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app-env";
import { getDb, getRedis } from "../http/resources";
import { createRouter } from "../http/router";
import { constantTimeEqualStrings } from "../lib/constant-time";
import { PROMETHEUS_CONTENT_TYPE } from "../lib/metrics/prometheus-text";
import { authenticate, requireAdmin } from "../middleware/authenticate";
import { collectMetrics } from "../services/metrics/collect-metrics";
import { signedInRoutes } from "./route-group";

/** A scrape token shorter than this is a misconfiguration, never accepted. */
const MIN_SCRAPE_TOKEN_LENGTH = 32;

/**
 * A Prometheus scraper presents `Authorization: Bearer <METRICS_SCRAPE_TOKEN>` (compared in
 * constant time); anyone else needs an admin session, as on every admin route.
 */
const scraperOrAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = c.env.METRICS_SCRAPE_TOKEN;
  const offered = c.req.header("authorization")?.match(/^Bearer (.+)$/)?.[1];
  if (
    token &&
    token.length >= MIN_SCRAPE_TOKEN_LENGTH &&
    offered &&
    constantTimeEqualStrings(offered, token)
  ) {
    return next();
  }
  await authenticate()(c, async () => {
    await requireAdmin(c, next);
  });
};

const metricsRoute = signedInRoutes(["Operations"], [scraperOrAdmin]).get("/admin/metrics", {
  summary: "Operating metrics in Prometheus' text format (admin session or the scrape token)",
  description:
    "The Worker's request, rate-limit, login, Postgres and Redis metrics (of the isolate that answers), " +
    "each market object's orders, fills, settlement lag and backlog, sockets and frames, and the " +
    "quarantine, event-relay and reconciliation gauges. Metric names and alerts: docs/ops/.",
  reply: {
    200: {
      description: "Prometheus text exposition format 0.0.4",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

export const adminMetricsRoutes = createRouter().openapi(metricsRoute, async (c) => {
  const text = await collectMetrics(c.env, getDb(c), getRedis(c), c.get("log"));
  c.header("Cache-Control", "no-store");
  return c.text(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE });
});
