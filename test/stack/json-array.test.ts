// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseJsonBytes } from "../../scripts/stack/json-array";

/** A parse's answer: the value, or that it throws. */
function parsed(parse: () => unknown): { value: unknown } | { error: true } {
  try {
    return { value: parse() };
  } catch {
    return { error: true };
  }
}

/** The contract: what JSON.parse answers for the bytes decoded whole. */
function same(text: string, groupBytes: number): void {
  const bytes = Buffer.from(text);
  assert.deepEqual(
    parsed(() => parseJsonBytes(bytes, groupBytes)),
    parsed(() => JSON.parse(bytes.toString("utf8"))),
  );
}

/** Strings made of what could fool a cut: separators, quotes, escapes, brackets, non-ASCII. */
const tricky = fc
  .array(fc.constantFrom('","', ",", '"', "\\", '\\"', "[", "]", "{", "}", " ", "a", "é", "😀", '",', ',"'), {
    maxLength: 30,
  })
  .map((parts) => parts.join(""));
const element = fc.oneof(
  tricky,
  fc.integer(),
  fc.constant(null),
  fc.array(tricky, { maxLength: 6 }),
  fc.dictionary(tricky, tricky, { maxKeys: 3 }),
  fc.jsonValue({ maxDepth: 2 }),
);

test("parses arrays in groups to exactly JSON.parse's value", () => {
  fc.assert(
    fc.property(
      fc.array(element, { maxLength: 40 }),
      fc.integer({ min: 1, max: 200 }),
      fc.boolean(),
      (values, groupBytes, spaced) => {
        same(JSON.stringify(values, null, spaced ? 1 : undefined), groupBytes);
      },
    ),
    { numRuns: 500 },
  );
});

test("invalid JSON throws as JSON.parse does, however it is cut", () => {
  const text = fc
    .array(element, { minLength: 1, maxLength: 30 })
    .map((values) => JSON.stringify(values))
    .chain((json) =>
      fc.tuple(
        fc.constant(json),
        fc.nat(json.length - 1),
        fc.constantFrom("", ",", "]", "[", '"', "\\", ",,", "}"),
      ),
    )
    .map(([json, at, insert]) => json.slice(0, at) + insert + json.slice(at + 1));
  fc.assert(
    fc.property(text, fc.integer({ min: 1, max: 100 }), (json, groupBytes) => same(json, groupBytes)),
    { numRuns: 1000 },
  );
  for (const json of ["[1,,2]", "[1,2,]", "[,1]", "[1 2]", "[1,2]]", "[[1,2]", "[1,2] x", '["a,"b"]', ""])
    same(json, 2);
});

test("never parses one string of a large event body whole", () => {
  const event = JSON.stringify({
    id: "e-1",
    type: "order.filled",
    payload: { price: "64000.00", note: '","'.repeat(80) },
  });
  const body = JSON.stringify([
    "eval",
    "return 1",
    500,
    ...Array(500).fill("trading:events"),
    ...Array(500).fill(event),
  ]);
  const lengths: number[] = [];
  const parse = JSON.parse;
  JSON.parse = (text: string) => {
    lengths.push(text.length);
    return parse(text) as unknown;
  };
  try {
    assert.deepEqual(parseJsonBytes(Buffer.from(body)), parse(body));
  } finally {
    JSON.parse = parse;
  }
  assert.ok(body.length > 100_000 && lengths.length > 3);
  assert.ok(Math.max(...lengths) <= 32 * 1024 + 2, `longest parse ${Math.max(...lengths)}`);
});
