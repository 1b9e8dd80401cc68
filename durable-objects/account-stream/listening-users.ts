import type { Redis } from "@upstash/redis/cloudflare";

// Which users have a user data stream open right now, in Redis: the AccountStream object
// writes it as its sockets come and go, the event relay reads it (forward.ts) so it reads
// orders, fills and balances only for users someone is listening for.

const listeningKey = (userId: string) => `account-stream:listening:${userId}`;

/** Notes whether the user has any socket open (no expiry: the object clears it on the last close). */
export async function setListening(redis: Redis, userId: string, on: boolean): Promise<void> {
  if (on) await redis.set(listeningKey(userId), "1");
  else await redis.del(listeningKey(userId));
}

/** Those of the users with a socket open, in one round trip. */
export async function listeningUsers(redis: Redis, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const flags = await redis.mget<(string | number | null)[]>(...userIds.map(listeningKey));
  return new Set(userIds.filter((_, i) => flags[i] !== null));
}
