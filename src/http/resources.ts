import { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import { openDatabase, type Database } from "../db/client";
import type { AppEnv } from "./app-env";

const databases = new WeakMap<Context, Database>();
const redises = new WeakMap<Context, Redis>();

/** The request's database handle, opened on first use and closed after the response. */
export function getDb(c: Context<AppEnv>): Database {
  let db = databases.get(c);
  if (!db) {
    const opened = openDatabase(c.env);
    db = opened.db;
    databases.set(c, db);
    c.executionCtx.waitUntil(opened.pool.end().catch(() => {}));
  }
  return db;
}

export function createRedis(env: Pick<Env, "UPSTASH_REDIS_REST_URL" | "UPSTASH_REDIS_REST_TOKEN">): Redis {
  // No automatic retries: a Redis outage must surface quickly (fail closed or degrade).
  return new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    retry: false,
    enableTelemetry: false,
  });
}

/** The request's Redis client (stateless HTTP, but one instance per request keeps it simple). */
export function getRedis(c: Context<AppEnv>): Redis {
  let redis = redises.get(c);
  if (!redis) {
    redis = createRedis(c.env);
    redises.set(c, redis);
  }
  return redis;
}
