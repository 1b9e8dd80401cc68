import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { PgTable } from "drizzle-orm/pg-core";

/**
 * An INSERT of many rows with ONE bound parameter: the rows travel as a JSON array and
 * `jsonb_populate_recordset` reads them back with the table's own column types. Drizzle's
 * `.values(rows)` binds every value and builds every chunk in JavaScript, which for a
 * settlement batch (hundreds of trades and events) cost more workerd CPU than the statement
 * itself. Columns not in the rows keep their defaults; `computed` sets columns by expression
 * (e.g. `{ created_at: sql`clock_timestamp()` }`).
 */
export function jsonRowsInsert<T extends PgTable>(
  table: T,
  rows: readonly Partial<T["$inferInsert"]>[],
  computed: Record<string, SQL> = {},
): SQL {
  const columns = getTableColumns(table);
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((key) => columns[key]);
  const names = keys.map((key) => columns[key]!.name);
  const json = rows.map((row) =>
    Object.fromEntries(
      keys.map((key) => {
        const column = columns[key]!;
        const value = (row as Record<string, unknown>)[key];
        // JSON columns go in as they are (their driver value would be a string of JSON).
        if (value === null || value === undefined || column.dataType === "json")
          return [column.name, value ?? null];
        return [column.name, column.mapToDriverValue(value)];
      }),
    ),
  );
  const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const targets = [...names, ...Object.keys(computed)].map(quoted).join(", ");
  const sources = [...names.map((name) => sql.raw(`r.${quoted(name)}`)), ...Object.values(computed)];
  return sql`insert into ${table} (${sql.raw(targets)})
    select ${sql.join(sources, sql`, `)}
    from jsonb_populate_recordset(null::${table}, ${JSON.stringify(json)}::jsonb) as r`;
}
