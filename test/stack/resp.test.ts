// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { RespError, RespParser, RespStatus, encodeCommands, type RespArg } from "../../scripts/stack/resp";

const encoded = (commands: RespArg[][]) => Buffer.concat(encodeCommands(commands));

test("encodes commands as RESP arrays of bulk strings", () => {
  assert.equal(
    encoded([
      ["SET", "k", 12, Buffer.from("ü")],
      ["GET", "k"],
    ]).toString(),
    "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\nü\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
  );
});

test("encodes large commands in bounded pieces, the same bytes", () => {
  const reference = (commands: RespArg[][]) =>
    commands
      .map((args) => {
        const bulk = args.map((arg) => {
          const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
          return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]);
        });
        return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...bulk]);
      })
      .reduce((all, one) => Buffer.concat([all, one]), Buffer.alloc(0));
  const arg = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 3000 }),
    fc.integer(),
    fc.uint8Array({ maxLength: 40_000 }).map((bytes) => Buffer.from(bytes)),
    fc.constantFrom("x".repeat(32 * 1024), "é".repeat(20_000), "y".repeat(70_000)),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(arg, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 }),
      (commands) => {
        const pieces = encodeCommands(commands);
        assert.ok(pieces.every((piece) => piece.length > 0));
        assert.ok(Buffer.concat(pieces).equals(reference(commands)));
      },
    ),
    { numRuns: 60 },
  );
});

test("parses every reply type, including nested arrays and nulls", () => {
  const parser = new RespParser();
  const replies = parser.push(
    Buffer.from("+OK\r\n-ERR bad\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n*-1\r\n"),
  );
  assert.equal(replies.length, 7);
  assert.deepEqual(replies[0], new RespStatus("OK"));
  assert.ok(replies[1] instanceof RespError && replies[1].message === "ERR bad");
  assert.equal(replies[2], 42);
  assert.deepEqual(replies[3], Buffer.from("abc"));
  assert.equal(replies[4], null);
  assert.deepEqual(replies[5], [[1], Buffer.alloc(0)]);
  assert.equal(replies[6], null);
});

test("waits for replies split across chunks, byte by byte", () => {
  const parser = new RespParser();
  const wire = Buffer.from("*3\r\n$5\r\nhel\r\n\r\n:7\r\n+PONG\r\n");
  const replies = [];
  for (const byte of wire) replies.push(...parser.push(Buffer.from([byte])));
  assert.deepEqual(replies, [[Buffer.from("hel\r\n"), 7, new RespStatus("PONG")]]);
});
