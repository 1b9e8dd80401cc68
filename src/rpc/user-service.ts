import { WorkerEntrypoint } from "cloudflare:workers";
import { withDatabase } from "../db/client";
import { createRedis } from "../http/resources";
import { InvalidAccessToken, type AccessTokenClaims } from "../lib/access-token";
import { AppError, accountBanned } from "../lib/errors";
import { Logger, parseLogLevel } from "../lib/logger";
import {
  getUser,
  getUserByEmail,
  listUsers,
  updateKycStatus,
  type KycStatus,
  type Page,
  type UserFilter,
  type UserList,
} from "../services/auth/admin-users";
import type { ServiceContext } from "../services/auth/context";
import { resolveSession } from "../domain/auth/session-principal";
import { toUserView, type UserView } from "../domain/auth/user-view";

/** Typed failures of the RPC interface (thrown errors lose their type across a binding). */
export type UserServiceError =
  | { code: "NOT_FOUND"; message: string }
  | { code: "INVALID_ARGUMENT"; message: string }
  | { code: "INVALID_TOKEN"; message: string }
  | { code: "ACCOUNT_BANNED"; message: string };

export type RpcResult<T> = ({ ok: true } & T) | { ok: false; error: UserServiceError };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KYC: readonly string[] = ["pending", "verified", "rejected"];

function failure(err: unknown): { ok: false; error: UserServiceError } {
  if (err instanceof AppError && err.status === 404)
    return { ok: false, error: { code: "NOT_FOUND", message: err.message } };
  if (err instanceof AppError && err.status === 422) {
    return { ok: false, error: { code: "INVALID_ARGUMENT", message: err.message } };
  }
  throw err;
}

const invalid = (message: string) => ({
  ok: false as const,
  error: { code: "INVALID_ARGUMENT" as const, message },
});

/**
 * The account service for other Workers (the seed's gRPC API), through a service binding:
 *
 *   [[services]]
 *   binding = "USERS"
 *   service = "pandora-exchange"   # production; -dev, -sandbox, -audit in the other environments
 *   entrypoint = "UserService"
 *
 *   const result = await env.USERS.validateToken(token);
 *   if (result.ok) result.user.id;
 *
 * Callers are trusted Workers of this account (a binding is not reachable from the Internet),
 * so there is no further authentication here; every change is audited with the given actor.
 */
export class UserService extends WorkerEntrypoint<Env> {
  private run<T>(fn: (ctx: ServiceContext) => Promise<T>): Promise<T> {
    return withDatabase(this.env, (db) =>
      fn({
        db,
        redis: createRedis(this.env),
        env: this.env,
        metadata: { ipAddress: null, userAgent: "rpc:UserService", requestId: crypto.randomUUID() },
        log: new Logger(parseLogLevel(this.env.LOG_LEVEL), { rpc: "UserService" }),
      }),
    );
  }

  async getUser(id: string): Promise<RpcResult<{ user: UserView }>> {
    if (typeof id !== "string" || !UUID.test(id)) return invalid("id must be a UUID");
    return this.run((ctx) => getUser(ctx, id)).then((user) => ({ ok: true as const, user }), failure);
  }

  async getUserByEmail(email: string): Promise<RpcResult<{ user: UserView }>> {
    if (typeof email !== "string" || email.length > 254) return invalid("email must be a string");
    return this.run((ctx) => getUserByEmail(ctx, email)).then(
      (user) => ({ ok: true as const, user }),
      failure,
    );
  }

  async updateKycStatus(
    id: string,
    status: KycStatus,
    reason: string | null,
    actorId: string | null,
  ): Promise<RpcResult<{ user: UserView }>> {
    if (typeof id !== "string" || !UUID.test(id)) return invalid("id must be a UUID");
    if (!KYC.includes(status)) return invalid("status must be pending, verified or rejected");
    if (actorId !== null && (typeof actorId !== "string" || !UUID.test(actorId)))
      return invalid("actorId must be a UUID or null");
    if (reason !== null && (typeof reason !== "string" || reason.length > 500))
      return invalid("reason must be a short string or null");
    return this.run((ctx) => updateKycStatus(ctx, id, status, reason, actorId)).then(
      (user) => ({ ok: true as const, user }),
      failure,
    );
  }

  /** Verifies an access token as the HTTP API does (signature, kid, iss, aud, exp, live session). */
  async validateToken(
    accessToken: string,
  ): Promise<RpcResult<{ user: UserView; claims: AccessTokenClaims }>> {
    if (typeof accessToken !== "string" || accessToken.length > 4096)
      return invalid("accessToken must be a string");
    try {
      const { user, claims } = await this.run((ctx) => resolveSession(ctx.db, this.env, accessToken));
      if (user.status === "banned")
        return { ok: false, error: { code: "ACCOUNT_BANNED", message: accountBanned().message } };
      return { ok: true, user: toUserView(user), claims };
    } catch (err) {
      if (err instanceof InvalidAccessToken)
        return { ok: false, error: { code: "INVALID_TOKEN", message: err.message } };
      throw err;
    }
  }

  async listUsers(filter: UserFilter = {}, page: Partial<Page> = {}): Promise<RpcResult<UserList>> {
    const p = { page: page.page ?? 1, page_size: page.page_size ?? 20 };
    if (
      !Number.isInteger(p.page) ||
      p.page < 1 ||
      !Number.isInteger(p.page_size) ||
      p.page_size < 1 ||
      p.page_size > 100
    ) {
      return invalid("page must be >= 1 and page_size between 1 and 100");
    }
    if (filter.kyc_status && !KYC.includes(filter.kyc_status)) return invalid("unknown kyc_status");
    if (filter.role && filter.role !== "user" && filter.role !== "admin") return invalid("unknown role");
    const list = await this.run((ctx) => listUsers(ctx, filter, p));
    return { ok: true, ...list };
  }
}
