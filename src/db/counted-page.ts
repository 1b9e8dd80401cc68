import { count, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";
import type { Database } from "./client";

/**
 * One numbered page of a listing that shows a count (the admin searches): the rows of `table`
 * matching `where` in `orderBy` order, and how many match, read at once.
 */
export async function countedPage<T extends PgTable>(
  db: Pick<Database, "select">,
  table: T,
  where: SQL | undefined,
  orderBy: SQL[],
  page: { page: number; page_size: number },
): Promise<{ rows: T["$inferSelect"][]; page: number; page_size: number; total: number }> {
  const [rows, totals] = await Promise.all([
    db
      .select()
      .from(table as PgTable)
      .where(where)
      .orderBy(...orderBy)
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size),
    db
      .select({ n: count() })
      .from(table as PgTable)
      .where(where),
  ]);
  return {
    rows: rows as T["$inferSelect"][],
    page: page.page,
    page_size: page.page_size,
    total: totals[0]?.n ?? 0,
  };
}
