// A large JSON array body (the event relay's EVAL of 500 events is ~200 KB) parsed a group of
// elements at a time. JSON.parse of the whole needs one string of the body's size, and a string
// over V8's large-object size (128 KB) is a fresh mapping with its page faults every time: ~1 ms
// of CPU for 200 KB on the dev VM, more than all the rest the shim does with the request.

/** Bytes of one JSON.parse: well under V8's 128 KB, even as a two-byte string. */
const GROUP_BYTES = 32 * 1024;
/** Cuts tried per group before parsing the body whole. */
const ATTEMPTS = 4;

const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** `","`: between two string elements, the likeliest separator (inside a string it is `\",\"`). */
const STRING_SEPARATOR = Buffer.from('","');

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Whether the quote at `at` is escaped: an odd run of backslashes before it. */
function escaped(bytes: Buffer, at: number): boolean {
  let i = at - 1;
  while (bytes[i] === BACKSLASH) i--;
  return (at - 1 - i) % 2 === 1;
}

/** Commas in (from, before], from the last back: first those of `","`, then any. */
function* cutsBefore(bytes: Buffer, from: number, before: number): Generator<number> {
  for (let at = bytes.lastIndexOf(STRING_SEPARATOR, before - 1); at > from;) {
    if (!escaped(bytes, at)) yield at + 1;
    at = at - 1 > from ? bytes.lastIndexOf(STRING_SEPARATOR, at - 1) : -1;
  }
  for (let at = bytes.lastIndexOf(COMMA, before); at > from;) {
    yield at;
    at = at - 1 > from ? bytes.lastIndexOf(COMMA, at - 1) : -1;
  }
}

/**
 * The elements of `[ … ]` from JSON.parse of groups `[` + bytes[from, cut) + `]`, each cut at a
 * comma. A group parses only when its cut is a separator of the top-level array: a comma inside a
 * string, an object or a nested array leaves the group's last element unclosed, a SyntaxError. So
 * groups that all parse, none empty, are exactly the whole's elements. Undefined when no cut is found.
 */
function parseInGroups(bytes: Buffer, groupBytes: number): unknown[] | undefined {
  let start = 0;
  while (isSpace(bytes[start])) start++;
  let end = bytes.length - 1;
  while (isSpace(bytes[end])) end--;
  if (bytes[start] !== OPEN_ARRAY || bytes[end] !== CLOSE_ARRAY) return undefined;
  const values: unknown[] = [];
  const take = (from: number, to: number) => {
    const group = JSON.parse(`[${bytes.toString("utf8", from, to)}]`) as unknown[];
    if (group.length === 0) throw new SyntaxError("an empty element");
    for (const value of group) values.push(value);
  };
  let from = start + 1;
  while (end - from > groupBytes) {
    let cut = -1;
    let attempts = 0;
    for (const at of cutsBefore(bytes, from, from + groupBytes)) {
      try {
        take(from, at);
        cut = at;
        break;
      } catch {
        if (++attempts === ATTEMPTS) break;
      }
    }
    if (cut < 0) return undefined;
    from = cut + 1;
  }
  take(from, end);
  return values;
}

/**
 * JSON.parse(bytes as UTF-8): the same value, or a SyntaxError. An array larger than GROUP_BYTES
 * is parsed without a string of it whole (an invalid one is then parsed whole, for the error).
 * `groupBytes` is for tests.
 */
export function parseJsonBytes(bytes: Buffer, groupBytes = GROUP_BYTES): unknown {
  if (bytes.length > groupBytes) {
    try {
      const values = parseInGroups(bytes, groupBytes);
      if (values) return values;
    } catch {
      // Not valid JSON: parsed whole below, which throws.
    }
  }
  return JSON.parse(bytes.toString("utf8"));
}
