import fc from "fast-check";

/** What PackedIds stores: a canonical UUID in lowercase hex (any bytes, any version). */
export const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Any 16 bytes, printed as a lowercase UUID. */
export const lowercaseUuid = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => hex(b).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-"));

/**
 * A char that is no lowercase hex digit, often one a careless parser would take for one: an
 * uppercase digit, a neighbour in ASCII, or a char whose low 7 or 8 bits are a hex digit's code.
 */
const notHexChar = fc
  .oneof(
    fc.constantFrom(..."ABCDEFGgz/:`@- {}"),
    fc
      .constantFrom(0x30, 0x39, 0x61, 0x66)
      .chain((c) => fc.constantFrom(c + 0x80, c + 0x100, c + 0x3000, c + 0xff00))
      .map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  )
  .filter((c) => !/^[0-9a-f]$/.test(c));

/** Ids PackedIds must refuse: near misses of a lowercase UUID and anything else a client may send. */
export const notPackable = fc
  .oneof(
    lowercaseUuid.map((id) => id.toUpperCase()),
    fc
      .tuple(lowercaseUuid, fc.nat(35), notHexChar)
      .map(([id, at, c]) => id.slice(0, at) + c + id.slice(at + 1)),
    fc.tuple(lowercaseUuid, notHexChar).map(([id, c]) => id + c),
    lowercaseUuid.map((id) => id.slice(1)),
    lowercaseUuid.map((id) => id.replaceAll("-", "")),
    lowercaseUuid.map((id) => `{${id.slice(0, 34)}}`),
    fc.nat().map((n) => `#${n}`),
    fc.string({ minLength: 1, maxLength: 64 }),
    fc.string({ minLength: 36, maxLength: 36, unit: "grapheme-ascii" }),
  )
  .filter((id) => !CANONICAL.test(id));
