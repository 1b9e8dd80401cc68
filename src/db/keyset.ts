import { and, desc, eq, lt, or, sql, type AnyColumn, type Column, type SQL } from "drizzle-orm";
import type { PgSelect } from "drizzle-orm/pg-core";

/** A position in a newest-first listing ordered by (created_at, id). */
export interface TimeCursor {
  createdAt: Date;
  id: string;
}

/** Where a newest-first listing resumes (rows past the previous page's last) and its order. */
export interface Keyset {
  where: SQL | undefined;
  orderBy: readonly SQL[];
}

/**
 * Keyset pagination on (created_at, id), newest first. Times compare truncated to
 * milliseconds: the cursor travels as a JavaScript Date, Postgres keeps microseconds.
 */
export function timeKeyset(createdAt: AnyColumn, id: AnyColumn, before: TimeCursor | undefined): Keyset {
  const createdMs = sql<Date>`date_trunc('milliseconds', ${createdAt})`;
  const at = before ? sql`${before.createdAt.toISOString()}::timestamptz` : undefined;
  const where: SQL | undefined =
    before && at ? or(lt(createdMs, at), and(eq(createdMs, at), lt(id, before.id))) : undefined;
  return { where, orderBy: [desc(createdMs), desc(id)] };
}

/** Keyset pagination on an increasing integer id, newest (highest) first. */
export function idKeyset(id: AnyColumn, before: bigint | undefined): Keyset {
  return { where: before === undefined ? undefined : lt(id, before), orderBy: [desc(id)] };
}

/** A listing's filters: each column equals its value, and a value left out (or empty) filters nothing. */
export function matching(...filters: [column: Column, value: string | undefined][]): SQL | undefined {
  return and(...filters.map(([column, value]) => (value ? eq(column, value) : undefined)));
}

/**
 * One page of a newest-first listing (drizzle's dynamic query pattern): the rows of `query`
 * matching `where`, past the keyset's cursor, in its order. One row more than `limit` is read,
 * so the page knows whether another follows without counting.
 */
export async function keysetPage<T extends PgSelect>(
  query: T,
  where: SQL | undefined,
  keyset: Keyset,
  limit: number,
): Promise<{ items: T["_"]["result"]; more: boolean }> {
  const rows: T["_"]["result"] = await query
    .where(and(where, keyset.where))
    .orderBy(...keyset.orderBy)
    .limit(limit + 1);
  return { items: rows.slice(0, limit), more: rows.length > limit };
}

/** The cursor for the next page of a (created_at, id) listing, when there is one. */
export function nextTimeCursor(page: { items: TimeCursor[]; more: boolean }): TimeCursor | null {
  const last = page.items.at(-1);
  return page.more && last ? { createdAt: last.createdAt, id: last.id } : null;
}
