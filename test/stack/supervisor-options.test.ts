// Run: node --import tsx --test test/stack/*.test.ts
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { REPO_ROOT, readSupervisorOptions } from "../../scripts/stack/supervisor-options";

test("defaults: repo data dir, fixed ports, random token, lifeline on", () => {
  const options = readSupervisorOptions([], {});
  assert.equal(options.dataDir, path.join(REPO_ROOT, ".data", "stack"));
  assert.deepEqual(options.ports, {
    pg: 55432,
    pgPooler: 55434,
    pgProxy: 55433,
    pgHttp: 55435,
    redis: 56379,
    redisRest: 56380,
  });
  assert.ok(options.token.length >= 24);
  assert.equal(options.lifeline, true);
});

test("flags win over env vars; 0 is allowed; junk is rejected", () => {
  const env = {
    PANDORA_PG_PORT: "1111",
    PANDORA_REDIS_PORT: "0",
    PANDORA_PG_POOLER_PORT: "3333",
    PANDORA_REDIS_REST_TOKEN: "t",
    PANDORA_STACK_LIFELINE: "0",
  };
  const options = readSupervisorOptions(["--pg-port", "2222", "--data-dir", "rel"], env);
  assert.equal(options.ports.pg, 2222);
  assert.equal(options.ports.redis, 0);
  assert.equal(options.ports.pgPooler, 3333);
  assert.equal(readSupervisorOptions(["--pg-pooler-port", "4444"], env).ports.pgPooler, 4444);
  assert.equal(
    readSupervisorOptions(["--pg-http-port", "0"], { PANDORA_PG_HTTP_PORT: "5555" }).ports.pgHttp,
    0,
  );
  assert.equal(readSupervisorOptions([], { PANDORA_PG_HTTP_PORT: "5555" }).ports.pgHttp, 5555);
  assert.equal(options.token, "t");
  assert.equal(options.lifeline, false);
  assert.equal(options.dataDir, path.resolve("rel"));
  assert.throws(() => readSupervisorOptions(["--pg-port", "x"], {}), /invalid port/);
});
