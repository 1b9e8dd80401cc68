import type { ComponentChildren } from "preact";

export interface Column<T> {
  header: string;
  cell: (row: T) => ComponentChildren;
  class?: (row: T) => string | undefined;
}

/** A named table (caption and aria-label) with column headers; every list of the app is one. */
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  empty?: string;
  caption?: ComponentChildren;
  rowProps?: (row: T) => Record<string, string>;
}) {
  return (
    <table aria-label={props.label}>
      <caption>{props.caption ?? props.label}</caption>
      <thead>
        <tr>
          {props.columns.map((c) => (
            <th scope="col">{c.header}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.length === 0 && (
          <tr>
            <td colSpan={props.columns.length}>{props.empty ?? "Nothing yet"}</td>
          </tr>
        )}
        {props.rows.map((row) => (
          <tr key={props.rowKey(row)} {...(props.rowProps?.(row) ?? {})}>
            {props.columns.map((c) => (
              <td class={c.class?.(row)}>{c.cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
