import { Redis } from "@upstash/redis/cloudflare";
import type { Context, MiddlewareHandler } from "hono";
import { openRequestDatabase, type Database, type RequestDatabase } from "../db/client";
import { formatTraceparent } from "../lib/trace-context";
import { redisDuration, redisErrors, timed } from "../lib/metrics/worker-metrics";
import type { AppEnv } from "./app-env";

const databases = new WeakMap<Context, RequestDatabase>();
const redises = new WeakMap<Context, Redis>();

/**
 * The request's database handle, made on first use: plain queries go over Neon's HTTP endpoint
 * (no connection to open), and a Pool is opened only if the request runs a transaction.
 */
export function getDb(c: Context<AppEnv>): Database {
  let opened = databases.get(c);
  if (!opened) {
    opened = openRequestDatabase(c.env);
    databases.set(c, opened);
  }
  return opened.db;
}

/** Ends the request's Pool, if a transaction opened one, once the response is ready. */
export const releaseResources: MiddlewareHandler<AppEnv> = async (c, next) => {
  try {
    await next();
  } finally {
    const closing = databases.get(c)?.close();
    if (closing) c.executionCtx.waitUntil(closing);
  }
};

type RedisEnv = Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">;

export function createRedis(
  env: RedisEnv,
  /** `hotPath`: the shared client's settings (see `sharedRedis`). */
  options: { hotPath?: boolean } = {},
): Redis {
  // No automatic retries: a Redis outage must surface quickly (fail closed or degrade).
  const redis = new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    enableTelemetry: false,
    // Each command its own request (the client's default batches commands of one tick, which
    // the shared client below must never do: a batch could mix requests).
    enableAutoPipelining: false,
    ...(options.hotPath
      ? {
          // The hot path reads only UTF-8 text and numbers, so it skips the base64 response
          // encoding (measured: decoding it in the Worker cost ~40% of GET /users/me throughput),
          // and parses the one JSON value it reads itself (the client's parse tries JSON.parse
          // on every element of every reply).
          responseEncoding: false as const,
          automaticDeserialization: false,
          // Its commands are writes (the limits' script, the session fill), which Upstash runs
          // on the primary, so read-your-writes' sync token (a header each way) buys nothing;
          // and a token shared by every request of the isolate would order nothing anyway.
          readYourWrites: false,
        }
      : {}),
  });
  timeRoundTrips(redis);
  return redis;
}

const sharedClients = new Map<string, Redis>();
let lastShared: { env: RedisEnv; redis: Redis } | undefined;

/**
 * One client per isolate for the authenticated hot path's single commands (plain text, no
 * auto-pipelining, replies left unparsed). It holds no I/O object: each command is its own
 * fetch, made by the request that issues it, so requests may share it; building a client per request was a visible part
 * of a one-query read. An auto-pipelining client must stay per request (its batches would mix
 * requests, and a request that ended could leave another's command unanswered).
 */
export function sharedRedis(env: RedisEnv): Redis {
  // An isolate's requests usually share one env object: its client is found without building the key.
  if (lastShared?.env === env) return lastShared.redis;
  const id = `${env.UPSTASH_REDIS_REST_URL} ${env.UPSTASH_REDIS_REST_TOKEN}`;
  let redis = sharedClients.get(id);
  if (!redis) sharedClients.set(id, (redis = createRedis(env, { hotPath: true })));
  lastShared = { env, redis };
  return redis;
}

const redisLatency = redisDuration.series();
const redisFailures = redisErrors.series();

/** Times every round trip of the client (a command, a pipeline, a transaction) for the metrics. */
function timeRoundTrips(redis: Redis): void {
  redis.use((req, next) => timed(() => next(req), redisLatency, redisFailures));
}

/** The request's Redis client (stateless HTTP; one instance per request). */
export function getRedis(c: Context<AppEnv>): Redis {
  let redis = redises.get(c);
  if (!redis) {
    redis = createRedis(c.env);
    const trace = c.get("trace");
    // Each Redis round trip of the request carries its trace context (a subrequest header).
    if (trace) {
      const traceparent = formatTraceparent(trace);
      redis.use((req, next) => next({ ...req, headers: { ...req.headers, traceparent } }));
    }
    redises.set(c, redis);
  }
  return redis;
}
