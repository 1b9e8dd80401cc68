import type { Context } from "hono";
import { routePath } from "hono/route";
import { httpDuration, httpRequests } from "./worker-metrics";

/**
 * The route's pattern (`/api/v1/orders/:id`), never the raw path: a label per order id would
 * grow without bound. A request no route matched is `unmatched`.
 */
function routeOf(c: Context): string {
  const path = routePath(c, -1);
  return path === "*" || path === "/*" ? "unmatched" : path;
}

/**
 * Counts one answered request (by route, method and status) and its latency, and writes one
 * Analytics Engine data point (production's sum across isolates; the binding samples itself).
 */
export function recordRequest<E extends { Bindings: Env }>(
  c: Context<E>,
  status: number,
  durationMs: number,
): void {
  const route = routeOf(c);
  const method = c.req.method;
  httpRequests.series(route, method, String(status)).inc();
  httpDuration.series(route, method).observe(durationMs / 1000);
  c.env.METRICS?.writeDataPoint({
    indexes: [route],
    blobs: ["http", route, method, String(status)],
    doubles: [durationMs],
  });
}
