// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { RespError, RespStatus } from "../../scripts/stack/resp";
import { toRespArgs, toUpstashJson } from "../../scripts/stack/upstash-encoding";
import { LuaScripts } from "../../scripts/stack/upstash-scripts";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");

test("base64 encoding covers every string except a top-level OK", () => {
  assert.equal(toUpstashJson(new RespStatus("OK"), true), "OK");
  assert.equal(toUpstashJson(new RespStatus("PONG"), true), b64("PONG"));
  assert.equal(toUpstashJson(Buffer.from("é"), true), b64("é"));
  assert.deepEqual(toUpstashJson([new RespStatus("OK"), 1, null, [Buffer.from("x")]], true), [
    b64("OK"),
    1,
    null,
    [b64("x")],
  ]);
  assert.deepEqual(toUpstashJson([Buffer.from("x"), new RespStatus("OK")], false), ["x", "OK"]);
});

test("JSON arguments become RESP arguments", () => {
  assert.deepEqual(toRespArgs(["set", "k", 1, true, null, { a: 1 }]), ["set", "k", 1, "true", "", '{"a":1}']);
  assert.throws(() => toRespArgs([]), RespError);
  assert.throws(() => toRespArgs("get"), RespError);
});

test("a Lua shebang is blanked and EVALSHA of the original hash maps to the stored script", () => {
  const scripts = new LuaScripts();
  const original = "#!lua flags=allow-key-locking\nreturn 1";
  const stripped = "\nreturn 1";
  assert.deepEqual(scripts.rewrite(["EVAL", original, 0]), ["EVAL", stripped, 0]);
  assert.deepEqual(scripts.rewrite(["evalsha", sha1(original), 0]), ["evalsha", sha1(stripped), 0]);
  assert.deepEqual(scripts.rewrite(["SCRIPT", "LOAD", original]), ["SCRIPT", "LOAD", stripped]);
  assert.equal(scripts.loadedSha(["SCRIPT", "LOAD", original]), sha1(original));
  assert.equal(scripts.loadedSha(["SCRIPT", "LOAD", "return 1"]), undefined);
  assert.deepEqual(scripts.rewrite(["EVAL", "return 2", 0]), ["EVAL", "return 2", 0]);
});
