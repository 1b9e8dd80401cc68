import type { Context } from "hono";
import type { Database, DbExecutor } from "../../db/client";
import type { AppEnv } from "../../http/app-env";
import { requestMetadata, type RequestMetadata } from "../../http/request-metadata";
import { getDb } from "../../http/resources";
import type { Logger } from "../../lib/logger";
import { enqueueEvent } from "../event-outbox";

/** What the account services need from a request (or from an RPC call, which has no request). */
export interface ServiceContext {
  db: Database;
  env: Env;
  metadata: RequestMetadata;
  log: Logger;
}

export function serviceContext(c: Context<AppEnv>): ServiceContext {
  return { db: getDb(c), env: c.env, metadata: requestMetadata(c), log: c.get("log") };
}

export const USER_EVENTS_STREAM = "user-service:events";

export type UserEventType =
  | "user.registered"
  | "user.logged_in"
  | "user.profile.updated"
  | "user.kyc.updated"
  | "user.password.changed"
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
