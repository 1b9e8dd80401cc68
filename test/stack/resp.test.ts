// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespError, RespParser, RespStatus, encodeCommand } from "../../scripts/stack/resp";

test("encodes a command as a RESP array of bulk strings", () => {
  assert.equal(
    encodeCommand(["SET", "k", 12, Buffer.from("ü")]).toString(),
    "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$2\r\nü\r\n",
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
