import type { Redis } from "@upstash/redis/cloudflare";
import type { UserView } from "../../domain/auth/user-view";

/**
 * A cache of live sessions in Redis, so an authenticated request needs no database
 * connection (opening one costs more than the rest of the request; see docs/BENCHMARKS.md).
 *
 * `auth:session:<sid>` holds either the user's public snapshot (filled with SET NX after a
 * database check, for SNAPSHOT_TTL_S) or a tombstone (SET unconditionally when the session is
 * revoked, for TOMBSTONE_TTL_S). Nothing but a tombstone ever replaces a tombstone: fills never
 * overwrite (NX), and user changes (profile, KYC, ban, email verification) replace only a
 * snapshot that is there, in one script that reads and writes each key (compare-and-set), so a
 * change racing a revocation cannot resurrect the session. If Redis fails when a session
 * is revoked, a stale snapshot lives at most SNAPSHOT_TTL_S; a cache read failure falls back
 * to the database.
 *
 * Each isolate also keeps what it read (or wrote) for LOCAL_TTL_MS, so a busy session's
 * requests read Redis once per LOCAL_TTL_MS and not each time: a revocation or a user change
 * made through another isolate reaches this one within LOCAL_TTL_MS (through this isolate: at
 * once, as `tombstoneSessions` and `overwriteSnapshots` update its copy too).
 */

export const SNAPSHOT_TTL_S = 60;
export const TOMBSTONE_TTL_S = 2 * SNAPSHOT_TTL_S;
const key = (sessionId: string) => `auth:session:${sessionId}`;
/** The session's cache key, for a caller that reads it in a command of its own. */
export const sessionCacheKey = key;

export type CachedSession = { user: UserView } | { revoked: true };

/** How long an isolate answers a session from its own copy of the entry. */
export const LOCAL_TTL_MS = 2_000;
/** Most sessions one isolate keeps (about 1 KB each); the oldest go first. */
const LOCAL_MAX_ENTRIES = 5_000;
const local = new Map<string, { entry: CachedSession; at: number }>();

/** The isolate's copy of a session's entry, at most LOCAL_TTL_MS old; undefined when it has none. */
export function localSession(sessionId: string, now = Date.now()): CachedSession | undefined {
  const hit = local.get(sessionId);
  if (!hit) return undefined;
  if (now - hit.at <= LOCAL_TTL_MS) return hit.entry;
  local.delete(sessionId);
  return undefined;
}

/**
 * Keeps an entry read (from Redis, or the user from Postgres) at `at`, the time its read
 * started, unless this isolate knows something later; a tombstone is replaced only by a
 * tombstone (it expires after LOCAL_TTL_MS), as in Redis.
 */
export function rememberSession(sessionId: string, entry: CachedSession, at: number): void {
  const current = local.get(sessionId);
  if (current && at - current.at <= LOCAL_TTL_MS) {
    if (current.at > at || ("revoked" in current.entry && !("revoked" in entry))) return;
  }
  if (!current && local.size >= LOCAL_MAX_ENTRIES) local.delete(local.keys().next().value!);
  local.set(sessionId, { entry, at });
}

/** The entry as the client returned it: JSON text, or already parsed. */
export function cachedSessionOf(value: CachedSession | string | null | undefined): CachedSession | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? (JSON.parse(value) as CachedSession) : value;
}

export async function readCachedSession(redis: Redis, sessionId: string): Promise<CachedSession | null> {
  return cachedSessionOf(await redis.get<CachedSession | string>(key(sessionId)));
}

export async function fillCachedSession(redis: Redis, sessionId: string, user: UserView): Promise<void> {
  await redis.set(key(sessionId), JSON.stringify({ user } satisfies CachedSession), {
    nx: true,
    ex: SNAPSHOT_TTL_S,
  });
}

export async function tombstoneSessions(redis: Redis, sessionIds: readonly string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  const now = Date.now();
  for (const id of sessionIds) rememberSession(id, { revoked: true }, now);
  const pipe = redis.pipeline();
  const value = JSON.stringify({ revoked: true } satisfies CachedSession);
  for (const id of sessionIds) pipe.set(key(id), value, { ex: TOMBSTONE_TTL_S });
  await pipe.exec();
}

/** Replaces each key's snapshot; a tombstone, or no entry, stays as it is. */
const REPLACE_SNAPSHOTS = `
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current and not string.find(current, '"revoked"', 1, true) then
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
  end
end
return 0`;

export async function overwriteSnapshots(
  redis: Redis,
  sessionIds: readonly string[],
  user: UserView,
): Promise<void> {
  if (sessionIds.length === 0) return;
  const now = Date.now();
  for (const id of sessionIds) {
    const copy = local.get(id);
    if (copy && !("revoked" in copy.entry)) rememberSession(id, { user }, now);
  }
  const value = JSON.stringify({ user } satisfies CachedSession);
  await redis.eval(REPLACE_SNAPSHOTS, sessionIds.map(key), [value, String(SNAPSHOT_TTL_S)]);
}
