import { and, desc, eq, lt, or, sql, type AnyColumn, type SQL } from "drizzle-orm";

/** A position in a newest-first listing ordered by (created_at, id). */
export interface TimeCursor {
  createdAt: Date;
  id: string;
}

/**
 * Keyset pagination on (created_at, id), newest first. Times compare truncated to
 * milliseconds: the cursor travels as a JavaScript Date, Postgres keeps microseconds.
 */
export function timeKeyset(createdAt: AnyColumn, id: AnyColumn, before: TimeCursor | undefined) {
  const createdMs = sql<Date>`date_trunc('milliseconds', ${createdAt})`;
  const at = before ? sql`${before.createdAt.toISOString()}::timestamptz` : undefined;
  const where: SQL | undefined =
    before && at ? or(lt(createdMs, at), and(eq(createdMs, at), lt(id, before.id))) : undefined;
  return { where, orderBy: [desc(createdMs), desc(id)] as const };
}

/** The cursor for the next page, when there is one (`rows` holds up to limit + 1 rows). */
export function nextTimeCursor<T extends TimeCursor>(rows: T[], limit: number): TimeCursor | null {
  const last = rows[limit - 1];
  return rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null;
}
