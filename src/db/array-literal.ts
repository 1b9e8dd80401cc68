/** A value a Postgres array literal can carry (undefined and null are NULL). */
export type Cell = string | number | boolean | null | undefined;

/** JSON escaped a character Postgres would read as the letter (`\\n`, `\\u…`): not `\\"` or `\\\\`. */
const FOREIGN_ESCAPE = /\\[^"\\]/;

/** An element quoted as Postgres reads it (every element is, once one needs it). */
const quoted = (x: Cell) =>
  x === null || x === undefined ? "NULL" : `"${String(x).replace(/["\\]/g, "\\$&")}"`;

/**
 * A Postgres array literal of `cells`. JSON's array of them is one (a string quoted with `"` and
 * `\\` escaped as Postgres does, `null` read as NULL) unless JSON escaped a control character or a
 * lone surrogate (`\\n`, `\\u…`, which Postgres would read as the letter): then every element
 * is quoted here. A column of one value repeated (a flush's market, its nulls) is that value's
 * text repeated, the same text without serialising every copy.
 */
export function arrayLiteral(cells: readonly Cell[]): string {
  const n = cells.length;
  const first = cells[0];
  let same = 1;
  while (same < n && cells[same] === first) same++;
  if (n > 1 && same === n) {
    const one = JSON.stringify([first]).slice(1, -1);
    const element = FOREIGN_ESCAPE.test(one) ? quoted(first) : one;
    return `{${`${element},`.repeat(n - 1)}${element}}`;
  }
  const json = JSON.stringify(cells);
  if (!FOREIGN_ESCAPE.test(json)) return `{${json.slice(1, -1)}}`;
  let out = "{";
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ",";
    out += quoted(cells[i]);
  }
  return `${out}}`;
}
