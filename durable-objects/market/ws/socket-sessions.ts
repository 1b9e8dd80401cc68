import { sql } from "drizzle-orm";
import type { Database } from "../../../src/db/client";
import { ALL_PERMISSIONS, principalOf, type Principal } from "../../../src/http/principal";
import { InvalidAccessToken } from "../../../src/lib/access-token";
import { resolveSession } from "../../../src/domain/auth/session-principal";
import { toUserView } from "../../../src/domain/auth/user-view";
import type { KeptDatabase } from "../kept-database";
import type { Subscriptions } from "./subscriptions";

/**
 * How often the object re-checks the credentials behind its authenticated sockets (one query
 * for all of them): a logged-out, revoked, expired or banned owner loses the private channels
 * and order entry within this long.
 */
export const SESSION_RECHECK_MS = 3_000;

/** Why a socket lost its private channels (the code of the error frame it gets). */
export type SessionEnd = "SESSION_EXPIRED" | "SESSION_REVOKED" | "ACCOUNT_BANNED";

const END_MESSAGES: Record<SessionEnd, string> = {
  SESSION_EXPIRED: "The access token expired: authenticate again to resume private channels",
  SESSION_REVOKED: "The session or API key was revoked: private channels closed",
  ACCOUNT_BANNED: "This account is banned; contact support",
};

/** The `auth` op's answer: the socket's new owner, or the error frame's code and message. */
export type AuthOutcome = { principal: Principal } | { code: string; message: string };

/**
 * Checks an `auth` op's token exactly as the HTTP API does: signature, algorithm, `kid`, `iss`,
 * `aud`, expiry, a live session of a live user (resolveSession), and no ban.
 */
export async function authenticateToken(db: Database, env: Env, token: string): Promise<AuthOutcome> {
  try {
    const { user, claims } = await resolveSession(db, env, token);
    if (user.status === "banned") return { code: "ACCOUNT_BANNED", message: END_MESSAGES.ACCOUNT_BANNED };
    return {
      principal: principalOf(toUserView(user), {
        via: "session",
        sessionId: claims.sid,
        expiresAt: claims.exp,
        permissions: ALL_PERMISSIONS,
      }),
    };
  } catch (err) {
    if (err instanceof InvalidAccessToken)
      return { code: "UNAUTHORIZED", message: "Invalid or expired access token" };
    throw err;
  }
}

interface LiveRow extends Record<string, unknown> {
  kind: "session" | "key" | "user";
  id: string;
  banned: boolean;
}

/** Which of these sessions, API keys and users are still live (one round trip). */
async function liveCredentials(
  db: Database,
  sessionIds: readonly string[],
  keyIds: readonly string[],
  userIds: readonly string[],
): Promise<LiveRow[]> {
  const ids = (list: readonly string[]) =>
    sql`(select (jsonb_array_elements_text(${JSON.stringify(list)}::jsonb))::uuid)`;
  const result = await db.execute<LiveRow>(sql`
    select distinct 'session' as kind, family_id::text as id, false as banned from sessions
      where family_id in ${ids(sessionIds)} and revoked_at is null and expires_at > now()
    union all
    select 'key', id::text, false from api_keys where id in ${ids(keyIds)} and revoked_at is null
    union all
    select 'user', id::text, status = 'banned' from users
      where id in ${ids(userIds)} and deleted_at is null`);
  return result.rows;
}

const expired = (principal: Principal, now: number) =>
  principal.expiresAt !== undefined && principal.expiresAt * 1000 <= now;

/** The credential an owner stands on: its session or its API key. */
const credentialOf = (p: Principal) => (p.via === "session" ? `session:${p.sessionId}` : `key:${p.apiKeyId}`);
const sameOwner = (a: Principal, b: Principal) =>
  a.userId === b.userId && credentialOf(a) === credentialOf(b) && a.expiresAt === b.expiresAt;

/**
 * Why this (unexpired) owner may no longer use private channels, or null while it may. Missing
 * from the live rows means revoked: the session, the key or the user is gone.
 */
function endOf(principal: Principal, live: ReadonlyMap<string, LiveRow>): SessionEnd | null {
  const user = live.get(`user:${principal.userId}`);
  if (user?.banned) return "ACCOUNT_BANNED";
  return user && live.has(credentialOf(principal)) ? null : "SESSION_REVOKED";
}

/**
 * Revocation for sockets: the HTTP API checks the session on every request, a socket only when it
 * authenticates, so the object re-checks its authenticated sockets every SESSION_RECHECK_MS (the
 * object's alarm drives it) over its kept connection. An owner whose token expired, whose session
 * or key was revoked, or who was banned or deleted, loses the private channels and order entry
 * and gets an error frame saying why; the socket stays open for public data and may `auth` again.
 * If Postgres does not answer, only expiry is enforced until the next check (a database blip
 * must not cut every trader off).
 */
export class SocketSessions {
  constructor(
    private readonly subs: Subscriptions,
    private readonly reads: KeptDatabase,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Runs one check; true while authenticated sockets remain (check again later). */
  async recheck(now: number): Promise<boolean> {
    const owned = this.subs.authenticatedSockets();
    if (owned.length === 0) return false;
    const asked = owned.map((o) => o.principal).filter((p) => !expired(p, now));
    let live: Map<string, LiveRow> | null = new Map();
    if (asked.length) {
      try {
        const rows = await this.reads.use((db) =>
          liveCredentials(
            db,
            unique(asked.flatMap((p) => (p.sessionId ? [p.sessionId] : []))),
            unique(asked.flatMap((p) => (p.apiKeyId ? [p.apiKeyId] : []))),
            unique(asked.map((p) => p.userId)),
          ),
        );
        live = new Map(rows.map((r) => [`${r.kind}:${r.id}`, r]));
      } catch (err) {
        this.onError(err);
        live = null;
      }
    }
    let remaining = 0;
    for (const { ws, principal } of owned) {
      const current = this.subs.attachment(ws)?.principal;
      // A new `auth` during the query replaced the owner: that one is judged next time.
      if (!current || !sameOwner(current, principal)) continue;
      const end = expired(principal, now) ? "SESSION_EXPIRED" : live ? endOf(principal, live) : null;
      if (end) this.end(ws, end, now);
      else remaining++;
    }
    return remaining > 0;
  }

  private end(ws: WebSocket, reason: SessionEnd, now: number): void {
    const closed = this.subs.deauthenticate(ws);
    this.subs.send(
      ws,
      JSON.stringify({ type: "error", code: reason, message: END_MESSAGES[reason], channels: closed }),
      now,
    );
  }
}

const unique = (list: readonly string[]) => [...new Set(list)];
