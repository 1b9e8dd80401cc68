import { LATENCY_BUCKETS, Registry } from "./registry";

export { timed } from "./registry";

/**
 * The Worker's own metrics, counted in this isolate's memory where things happen (request
 * middleware, rate limits, login, the Postgres and Redis clients, cron jobs). In production each
 * isolate counts its own share: a scrape sees the isolate that answered it, and Workers Analytics
 * Engine (one data point per request, `analytics.ts`) holds the sum across isolates. The markets'
 * counters are exact: one object per market (durable-objects/market/metrics.ts).
 */
export const workerRegistry = new Registry();

export const httpRequests = workerRegistry.counter(
  "pandora_http_requests_total",
  "HTTP requests answered, by route pattern, method and status",
  ["route", "method", "status"],
);
export const httpDuration = workerRegistry.histogram(
  "pandora_http_request_duration_seconds",
  "Time from a request's arrival to its response, by route pattern and method",
  ["route", "method"],
  LATENCY_BUCKETS,
);
export const rateLimitHits = workerRegistry.counter(
  "pandora_rate_limit_hits_total",
  "Requests refused with 429 by a rate limiter (ip, caller, login)",
  ["limiter"],
);
export const loginFailures = workerRegistry.counter(
  "pandora_login_failures_total",
  "Sign-ins refused for a wrong email or password",
);
/**
 * A client's round trips: how long each took, and how many failed (a network error or a non-2xx
 * answer), as `timed` records them.
 */
function roundTrips(names: { duration: string; errors: string }, what: string) {
  return {
    duration: workerRegistry.histogram(names.duration, what, [], LATENCY_BUCKETS),
    errors: workerRegistry.counter(names.errors, `${what} that failed`),
  };
}

export const { duration: postgresDuration, errors: postgresErrors } = roundTrips(
  { duration: "pandora_postgres_query_duration_seconds", errors: "pandora_postgres_errors_total" },
  "Postgres round trips over Neon's HTTP endpoint (plain queries of requests and jobs)",
);
export const { duration: redisDuration, errors: redisErrors } = roundTrips(
  { duration: "pandora_redis_command_duration_seconds", errors: "pandora_redis_errors_total" },
  "Redis (Upstash REST) round trips",
);
export const jobRuns = workerRegistry.counter(
  "pandora_job_runs_total",
  "Cron job runs by job and outcome (ok, failed)",
  ["job", "outcome"],
);
