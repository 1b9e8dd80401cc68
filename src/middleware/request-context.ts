import type { MiddlewareHandler } from "hono";
import { setAnsweredHeader } from "../http/answered-headers";
import type { AppEnv } from "../http/app-env";
import { Logger, parseLogLevel } from "../lib/logger";
import { recordRequest } from "../lib/metrics/http-metrics";
import { traceContextFrom } from "../lib/trace-context";

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Correlation for every request: an `X-Request-Id` (the client's when well formed, else a
 * new UUID) echoed on the response, the W3C trace context, a bound logger, and one access
 * log line when the response is ready.
 */
export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const started = Date.now();
  const offered = c.req.header("x-request-id");
  const requestId = offered && CLIENT_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
  const trace = traceContextFrom(c.req.header("traceparent"));
  const log = new Logger(parseLogLevel(c.env.LOG_LEVEL), {
    request_id: requestId,
    trace_id: trace.traceId,
    span_id: trace.spanId,
    ...(trace.parentSpanId ? { parent_span_id: trace.parentSpanId } : {}),
  });
  c.set("requestId", requestId);
  c.set("trace", trace);
  c.set("log", log);
  await next();
  setAnsweredHeader(c, "X-Request-Id", requestId);
  const status = c.res.status;
  const durationMs = Date.now() - started;
  log[status >= 500 ? "error" : "info"]("request", {
    method: c.req.method,
    path: c.req.path,
    status,
    duration_ms: durationMs,
  });
  recordRequest(c, status, durationMs);
};
