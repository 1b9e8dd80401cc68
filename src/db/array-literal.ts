/** A value a Postgres array literal can carry (undefined and null are NULL). */
export type Cell = string | number | boolean | null | undefined;

/**
 * A Postgres array literal of `cells`. JSON's array of them is one (a string quoted with `"` and
 * `\\` escaped as Postgres does, `null` read as NULL) unless JSON escaped a control character or a
 * lone surrogate (`\\n`, `\\u…`, which Postgres would read as the letter): then every element
 * is quoted here.
 */
export function arrayLiteral(cells: readonly Cell[]): string {
  const json = JSON.stringify(cells);
  if (!/\\[^"\\]/.test(json)) return `{${json.slice(1, -1)}}`;
  let out = "{";
  for (let i = 0; i < cells.length; i++) {
    const x = cells[i];
    if (i > 0) out += ",";
    out += x === null || x === undefined ? "NULL" : `"${String(x).replace(/["\\]/g, "\\$&")}"`;
  }
  return `${out}}`;
}
