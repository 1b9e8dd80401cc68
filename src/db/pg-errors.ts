/**
 * Postgres errors by SQLSTATE (and constraint), wherever they sit in the error's `cause` chain:
 * drizzle and the Neon driver wrap the server's error, so the fields are on an inner error.
 * `code` is an exact SQLSTATE ("23505") or a pattern (/^2[23]/: data and integrity classes).
 */
export function isPgError(err: unknown, code: string | RegExp, constraint?: string): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const pg = e as { code?: unknown; constraint?: unknown };
    if (typeof pg.code !== "string") continue;
    const codeMatches = typeof code === "string" ? pg.code === code : code.test(pg.code);
    if (codeMatches && (constraint === undefined || pg.constraint === constraint)) return true;
  }
  return false;
}

/** SQLSTATEs the code names (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_CHECK_VIOLATION = "23514";
