import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { hashPassword, type Argon2Params } from "../../lib/password-hash";
import { randomToken } from "../../lib/secure-random";

// A hash of a password nobody has, per parameter set: an unknown email costs Argon2id work like
// a wrong password, so timing does not tell which emails exist. The default parameters' dummy
// ships precomputed (of a discarded random password), so even the first unknown-email login of
// an isolate costs one hash, not two.
const dummyHashes = new Map<string, Promise<string>>([
  [
    "19456,2,1",
    Promise.resolve(
      "$argon2id$v=19$m=19456,t=2,p=1$O7znZt6mrxSATfdPqOcJDg$ZgAG31iJ+UooJL2E903rA7UM4uTCtGkvRJJpDxaK/Ck",
    ),
  ],
]);

/** How long an isolate trusts its reading of the weakest stored parameters. */
const WEAKEST_TTL_MS = 10 * 60_000;
let weakest: { params: Argon2Params | null; until: number } | null = null;

/**
 * The cheapest parameters any live account's hash still has (rehash-on-login raises them over
 * time), read from Postgres at most every ten minutes per isolate. An unknown email is checked at
 * these, never at more: the cheapest real account must not answer faster than an unknown email.
 */
async function weakestStoredParams(db: Database): Promise<Argon2Params | null> {
  if (weakest && weakest.until > Date.now()) return weakest.params;
  const result = await db.execute<{ m: number; t: number; p: number }>(sql`
    select m, t, p from (
      select (r)[1]::int as m, (r)[2]::int as t, (r)[3]::int as p
      from (select regexp_match(password_hash, '\\$m=(\\d+),t=(\\d+),p=(\\d+)\\$') as r
            from users where deleted_at is null) hashes
      where r is not null
    ) params
    order by m::bigint * t, p limit 1`);
  const row = result.rows[0];
  weakest = {
    params: row ? { m: Number(row.m), t: Number(row.t), p: Number(row.p) } : null,
    until: Date.now() + WEAKEST_TTL_MS,
  };
  return weakest.params;
}

/** The dummy hash an unknown email is checked against: at the weakest stored parameters, else today's. */
export async function dummyHash(db: Database, current: Argon2Params): Promise<string> {
  const params = (await weakestStoredParams(db).catch(() => null)) ?? current;
  const key = `${params.m},${params.t},${params.p}`;
  let hash = dummyHashes.get(key);
  if (!hash) {
    hash = hashPassword(randomToken(), params);
    dummyHashes.set(key, hash);
  }
  return hash;
}
