/**
 * Postgres errors by SQLSTATE (and constraint), wherever they sit in the error's `cause` chain:
 * drizzle and the Neon driver wrap the server's error, so the fields are on an inner error.
 * `code` is an exact SQLSTATE ("23505") or a pattern (/^2[23]/: data and integrity classes).
 */
export function isPgError(err: unknown, code: string | RegExp, constraint?: string): boolean {
  for (const pg of causes(err)) {
    if (typeof pg.code !== "string") continue;
    const codeMatches = typeof code === "string" ? pg.code === code : code.test(pg.code);
    if (codeMatches && (constraint === undefined || pg.constraint === constraint)) return true;
  }
  return false;
}

/**
 * Whether Postgres itself answered with this error (an ErrorResponse: a SQLSTATE and a severity),
 * not the connection (a Node error such as EPIPE has a code too, but no severity).
 */
export function isPostgresReply(err: unknown): boolean {
  for (const pg of causes(err)) {
    if (typeof pg.code === "string" && /^[0-9A-Z]{5}$/.test(pg.code) && typeof pg.severity === "string") {
      return true;
    }
  }
  return false;
}

/** `err` and the errors in its `cause` chain, with the fields the drivers put on Postgres' errors. */
function* causes(
  err: unknown,
): Generator<Error & { code?: unknown; constraint?: unknown; severity?: unknown }> {
  for (let e: unknown = err; e instanceof Error; e = e.cause) yield e;
}

/** SQLSTATEs the code names (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PG_UNIQUE_VIOLATION = "23505";
export const PG_CHECK_VIOLATION = "23514";
