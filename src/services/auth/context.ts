import type { Redis } from "@upstash/redis/cloudflare";
import type { Context } from "hono";
import type { Database, DbExecutor } from "../../db/client";
import type { AppEnv } from "../../http/app-env";
import { requestMetadata, type RequestMetadata } from "../../http/request-metadata";
import { getDb, getRedis } from "../../http/resources";
import { describeError } from "../../lib/logger";
import type { Logger } from "../../lib/logger";
import { enqueueEvent } from "../../domain/events/event-outbox";

/** What the account services need from a request (or from an RPC call, which has no request). */
export interface ServiceContext {
  db: Database;
  /** For the session cache (see session-cache.ts); rate limits use the request's client. */
  redis: Redis;
  env: Env;
  metadata: RequestMetadata;
  log: Logger;
}

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return { db: getDb(c), redis: getRedis(c), env: c.env, metadata: requestMetadata(c), log: c.get("log") };
}

export const USER_EVENTS_STREAM = "user-service:events";

export type UserEventType =
  | "user.registered"
  | "user.logged_in"
  | "user.profile.updated"
  | "user.kyc.updated"
  | "user.status.updated"
  | "user.password.changed"
  | "user.password_reset.requested"
  | "user.password.reset"
  | "user.two_factor.enabled"
  | "user.two_factor.disabled"
  | "user.deleted"
  | "user.session.reuse_detected";

/** Writes a `user-service:events` event to the outbox inside the caller's transaction. */
export function userEvent(
  tx: DbExecutor,
  ctx: Pick<ServiceContext, "metadata">,
  type: UserEventType,
  userId: string,
  payload: Record<string, unknown>,
): Promise<string> {
  return enqueueEvent(tx, { stream: USER_EVENTS_STREAM, type, userId, payload, metadata: ctx.metadata });
}

/**
 * Runs a cache update after a commit. It never fails the request: the change is committed,
 * and a stale cache entry expires on its own (see session-cache.ts).
 */
export async function afterCommit(
  ctx: ServiceContext,
  what: string,
  fn: () => Promise<unknown>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    ctx.log.warn("session cache update failed", { what, ...describeError(err) });
  }
}
