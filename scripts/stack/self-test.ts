// Proof that the local stack works with the real clients, and leaves nothing behind.
// Run: `node --import tsx scripts/stack/self-test.ts` (needs redis-server on PATH). Exits 1 on failure.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Pool, neonConfig } from "@neondatabase/serverless";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import ws from "ws";
import { startStack, type RunningStack, type StackInfo } from "./start-stack";
import { FREE_PORTS } from "./stack-info";

const run = promisify(execFile);

function say(message: string): void {
  console.log(`[self-test] ${message}`);
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const began = performance.now();
  const result = await work();
  say(`${label}: ${Math.round(performance.now() - began)} ms`);
  return result;
}

/** Processes whose command line mentions the data dir (supervisor, postgres, redis-server). */
async function leftovers(dataDir: string): Promise<string> {
  try {
    return (await run("pgrep", ["-fa", dataDir])).stdout.trim();
  } catch {
    return ""; // pgrep exits 1 when nothing matches
  }
}

async function checkPostgres(info: StackInfo): Promise<void> {
  neonConfig.webSocketConstructor = ws;
  neonConfig.wsProxy = () => info.neonWsProxy;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
  neonConfig.coalesceWrites = false;
  const pool = new Pool({ connectionString: info.databaseUrl });
  pool.on("error", () => undefined);
  try {
    const one = await timed("neon: first select 1 (connect + auth)", () => pool.query("select 1 as one"));
    assert.equal(one.rows[0].one, 1);
    const who = await pool.query("select current_user as u, current_database() as d");
    assert.deepEqual(who.rows[0], { u: "pandora", d: "pandora" });

    await pool.query("create table if not exists stack_self_test (id serial primary key, note text)");
    await pool.query("truncate stack_self_test");
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query("insert into stack_self_test (note) values ($1)", ["rolled back"]);
      await client.query("rollback");
      await client.query("begin");
      await client.query("insert into stack_self_test (note) values ($1)", ["committed"]);
      await client.query("commit");
    } finally {
      client.release();
    }
    const notes = await pool.query("select note from stack_self_test");
    assert.deepEqual(
      notes.rows.map((r) => r.note),
      ["committed"],
    );
    await pool.query("drop table stack_self_test");
    say("neon: select 1, rollback and commit through the WebSocket proxy: ok");
  } finally {
    await pool.end();
  }
}

async function checkUpstash(info: StackInfo): Promise<Redis> {
  const redis = new Redis({ url: info.redisRestUrl, token: info.redisRestToken, retry: false });
  assert.equal(await redis.set("self-test:k", "héllo ✓"), "OK");
  assert.equal(await redis.get("self-test:k"), "héllo ✓");
  await redis.set("self-test:obj", { a: 1, b: ["x"] });
  assert.deepEqual(await redis.get("self-test:obj"), { a: 1, b: ["x"] });
  await redis.del("self-test:n");
  assert.equal(await redis.incr("self-test:n"), 1);
  assert.equal(await redis.incr("self-test:n"), 2);
  assert.equal(await redis.ping(), "PONG");

  const id = await redis.xadd("self-test:s", "*", { side: "buy", qty: "1.5" });
  const entries = await redis.xrange("self-test:s", "-", "+");
  assert.deepEqual(entries[id], { side: "buy", qty: 1.5 });

  assert.equal(await redis.eval("return ARGV[1] .. KEYS[1]", ["k"], ["v"]), "vk");
  assert.deepEqual(await redis.eval("return {1, 'two', {3}}", [], []), [1, "two", [3]]);

  const piped = await redis.pipeline().set("self-test:p", "1").incr("self-test:p").get("self-test:p").exec();
  assert.deepEqual(piped, ["OK", 2, 2]);
  const tx = await redis.multi().set("self-test:m", "a").append("self-test:m", "b").get("self-test:m").exec();
  assert.deepEqual(tx, ["OK", 2, "ab"]);
  const kept = await redis.pipeline().incr("self-test:k").get("self-test:k").exec({ keepErrors: true });
  assert.match(String(kept[0]?.error), /not an integer/);
  assert.equal(kept[1]?.result, "héllo ✓");

  await assert.rejects(redis.incr("self-test:k"), /not an integer/);
  const bad = new Redis({ url: info.redisRestUrl, token: "wrong", retry: false });
  await assert.rejects(bad.get("self-test:k"), /Unauthorized/);

  const raw = await fetch(`${info.redisRestUrl}/get/self-test:n`, {
    headers: { Authorization: `Bearer ${info.redisRestToken}` },
  });
  assert.deepEqual(await raw.json(), { result: "2" });
  say("upstash/redis: set/get/incr/xadd/xrange/eval/pipeline/multi, errors, 401, path command: ok");
  return redis;
}

async function checkRatelimit(redis: Redis): Promise<void> {
  const limiter = new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(5, "15 m"),
    prefix: `self-test-rl-${Date.now()}`,
  });
  const user = "user-1";
  for (let i = 1; i <= 5; i++) assert.equal((await limiter.limit(user)).success, true, `call ${i}`);
  const sixth = await limiter.limit(user);
  assert.equal(sixth.success, false);
  assert.equal(sixth.remaining, 0);
  assert.equal((await limiter.getRemaining(user)).remaining, 0);
  await limiter.resetUsedTokens(user);
  assert.equal((await limiter.getRemaining(user)).remaining, 5);
  assert.equal((await limiter.limit(user)).success, true);

  const bucket = new Ratelimit({
    redis,
    limiter: Ratelimit.tokenBucket(1, "1 m", 2),
    prefix: `self-test-tb-${Date.now()}`,
  });
  const results = [];
  for (let i = 0; i < 3; i++) results.push((await bucket.limit(user)).success);
  assert.deepEqual(results, [true, true, false]);
  say(
    "upstash/ratelimit: sliding window 5/15m blocks the 6th, getRemaining, resetUsedTokens, token bucket: ok",
  );
}

async function checkRedisStop(stack: RunningStack, redis: Redis): Promise<void> {
  await timed("stopRedis()", () => stack.stopRedis());
  await assert.rejects(redis.get("self-test:n"), /redis unavailable/);
  say("with redis stopped, a command fails: ok");
  await timed("startRedis()", () => stack.startRedis());
  assert.equal(await redis.set("self-test:after", "1"), "OK");
  assert.equal(await redis.ping(), "PONG");
  say("after startRedis, commands work again: ok");
}

async function main(): Promise<void> {
  const base = await mkdtemp(path.join(tmpdir(), "pandora-stack-self-test-"));
  // mkdtemp makes 0700; the postgres user must traverse it (startStack also fixes this).
  await chmod(base, 0o755);
  const dataDir = path.join(base, "data");
  let stack: RunningStack | undefined;
  try {
    stack = await timed("cold start (initdb)", () => startStack({ dataDir, ports: FREE_PORTS }));
    const { info } = stack;
    assert.match(info.databaseUrl, /^postgres:\/\/pandora:pandora@127\.0\.0\.1:\d+\/pandora$/);
    assert.match(info.neonWsProxy, /^127\.0\.0\.1:\d+\/v2$/);
    await checkPostgres(info);
    const redis = await checkUpstash(info);
    await checkRatelimit(redis);
    await checkRedisStop(stack, redis);
    await timed("stop()", () => stack!.stop());
    assert.equal(await leftovers(dataDir), "", "processes left after stop()");
    say("no process of the run is left: ok");

    stack = await timed("warm start (existing data dir)", () => startStack({ dataDir, ports: FREE_PORTS }));
    await checkPostgres(stack.info);
    await stack.stop();
    assert.equal(await leftovers(dataDir), "", "processes left after the second stop()");
    say("PASS");
  } finally {
    await stack?.stop();
    const left = await leftovers(dataDir);
    if (left) console.error(`[self-test] LEFTOVER PROCESSES:\n${left}`);
    await rm(base, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error("[self-test] FAIL:", err);
  process.exitCode = 1;
});
