import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arrayLiteral, type Cell } from "../../../src/db/array-literal";

/** The literal as first written (every cell through JSON once): the text the faster one must keep. */
function reference(cells: readonly Cell[]): string {
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

const cell: fc.Arbitrary<Cell> = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }), // lone surrogates and control characters: JSON's \u… escapes
  fc.constantFrom("", "NULL", "null", '"', "\\", "a,b", "{x}", " ", "\n", "BTC-USDT"),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

describe("arrayLiteral", () => {
  it("writes the text the one-pass JSON literal wrote, for any cells", () => {
    fc.assert(
      fc.property(fc.array(cell, { maxLength: 30 }), (cells) => {
        expect(arrayLiteral(cells)).toBe(reference(cells));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes the same text for a column of one value repeated, or nearly", () => {
    fc.assert(
      fc.property(cell, fc.integer({ min: 1, max: 200 }), fc.option(cell), fc.nat(), (x, n, other, at) => {
        const cells: Cell[] = Array<Cell>(n).fill(x);
        expect(arrayLiteral(cells)).toBe(reference(cells));
        if (other !== null) cells[at % n] = other;
        expect(arrayLiteral(cells)).toBe(reference(cells));
      }),
      { numRuns: 2000 },
    );
  });

  it("reads NULL for nulls and quotes what JSON would escape as a letter", () => {
    expect(arrayLiteral([])).toBe("{}");
    expect(arrayLiteral([null, null])).toBe("{null,null}");
    expect(arrayLiteral([undefined])).toBe("{null}");
    expect(arrayLiteral(['a"b', "c\\d"])).toBe('{"a\\"b","c\\\\d"}');
    expect(arrayLiteral(["a\nb", null])).toBe('{"a\nb",NULL}');
    expect(arrayLiteral(["a\nb", "a\nb"])).toBe('{"a\nb","a\nb"}');
  });
});
