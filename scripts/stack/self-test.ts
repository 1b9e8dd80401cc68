// Proof that the local stack works with the real clients, and leaves nothing behind.
// Run: `node --import tsx scripts/stack/self-test.ts` (needs redis-server on PATH). Exits 1 on failure.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client, Pool, neon, neonConfig, type NeonDbError } from "@neondatabase/serverless";
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
  // As the Worker sets it: the driver appends the address it dials, by which the proxy routes.
  neonConfig.wsProxy = info.neonWsProxy;
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

/**
 * The proxy forwards by the address asked: `directDatabaseUrl` to Postgres itself, startup
 * options and all; `databaseUrl` to PgBouncer, which ignores them (pgbouncer.ts).
 */
async function checkDirectRoute(info: StackInfo): Promise<void> {
  const lockTimeout = async (connectionString: string): Promise<string> => {
    const client = new Client({ connectionString, options: "-c lock_timeout=1234ms" });
    client.on("error", () => undefined);
    await client.connect();
    try {
      return (await client.query<{ lock_timeout: string }>("show lock_timeout")).rows[0]!.lock_timeout;
    } finally {
      await client.end();
    }
  };
  assert.equal(await lockTimeout(info.directDatabaseUrl), "1234ms");
  if (info.pgPoolerPort) assert.notEqual(await lockTimeout(info.databaseUrl), "1234ms");
  say("neon: the direct address reaches Postgres itself, the pooled one PgBouncer: ok");
}

/** What the Neon driver's `neon()` sees of a failed query: Postgres' fields on a NeonDbError. */
async function pgError(query: Promise<unknown>): Promise<NeonDbError> {
  try {
    await query;
  } catch (err) {
    return err as NeonDbError;
  }
  throw new Error("the query did not fail");
}

async function checkNeonHttp(info: StackInfo): Promise<void> {
  neonConfig.fetchEndpoint = info.neonFetchEndpoint;
  const sql = neon(info.databaseUrl);
  const [typed] = await timed("neon http: first query", () =>
    sql.query(
      `select 1 as one, 'héllo'::text as t, null::int as n, 12345678901234::int8 as big, 1.50::numeric as num,
              true as yes, '{"a":[1]}'::jsonb as j, array[1,2]::int[] as arr, '2026-01-02T03:04:05Z'::timestamptz as ts,
              '\\x0102'::bytea as bin`,
    ),
  );
  // The driver parses the endpoint's raw text with its own type parsers, as it does Neon's.
  assert.deepEqual(typed, {
    one: 1,
    t: "héllo",
    n: null,
    big: "12345678901234",
    num: "1.50",
    yes: true,
    j: { a: [1] },
    arr: [1, 2],
    ts: new Date("2026-01-02T03:04:05Z"),
    bin: Buffer.from([1, 2]),
  });
  const full = await sql.query("select $1::int + $2::int as sum, $3::text as s", [1, 2, null], {
    fullResults: true,
    arrayMode: true,
  });
  assert.deepEqual(full.rows, [[3, null]]);
  assert.equal(full.command, "SELECT");
  assert.equal(full.rowCount, 1);
  assert.deepEqual(
    full.fields.map((f) => [f.name, f.dataTypeID]),
    [
      ["sum", 23],
      ["s", 25],
    ],
  );

  await sql.query("drop table if exists stack_http_self_test");
  await sql.query(
    "create table stack_http_self_test (id int primary key, qty int constraint qty_non_negative check (qty >= 0))",
  );
  const insert = await sql.query("insert into stack_http_self_test values (1, 5), (2, 6)", [], {
    fullResults: true,
  });
  assert.equal(insert.command, "INSERT");
  assert.equal(insert.rowCount, 2);
  const duplicate = await pgError(sql.query("insert into stack_http_self_test values (1, 0)"));
  assert.equal(duplicate.code, "23505");
  assert.equal(duplicate.constraint, "stack_http_self_test_pkey");
  assert.equal(duplicate.table, "stack_http_self_test");
  assert.match(duplicate.detail ?? "", /already exists/);
  const negative = await pgError(sql.query("update stack_http_self_test set qty = -1 where id = 1"));
  assert.equal(negative.code, "23514");
  assert.equal(negative.constraint, "qty_non_negative");
  // One statement per query (extended protocol), as Neon: a script is refused.
  assert.equal((await pgError(sql.query("select 1; select 2"))).code, "42601");

  // Non-interactive transactions: all or nothing, with the isolation and access mode asked for.
  await assert.rejects(
    sql.transaction([
      sql.query("insert into stack_http_self_test values (3, 1)"),
      sql.query("insert into stack_http_self_test values (1, 1)"),
    ]),
    /duplicate key/,
  );
  const [committed, level] = await sql.transaction(
    [
      sql.query("insert into stack_http_self_test values (3, 1) returning id"),
      sql.query("show transaction_isolation"),
    ],
    { isolationLevel: "Serializable" },
  );
  assert.deepEqual(committed, [{ id: 3 }]);
  assert.deepEqual(level, [{ transaction_isolation: "serializable" }]);
  const readOnly = await pgError(
    sql.transaction([sql.query("delete from stack_http_self_test")], { readOnly: true }),
  );
  assert.equal(readOnly.code, "25006");
  const ids = await sql.query("select id from stack_http_self_test order by id");
  assert.deepEqual(
    ids.map((r) => r.id),
    [1, 2, 3],
  );
  await sql.query("drop table stack_http_self_test");

  // Postgres checks the credentials of the connection string.
  const intruder = neon(info.databaseUrl.replace("pandora:pandora@", "pandora:wrong@"));
  assert.equal((await pgError(intruder.query("select 1"))).code, "28P01");
  const stranger = await fetch(info.neonFetchEndpoint, { method: "POST", body: "{}" });
  assert.equal(stranger.status, 400);
  say("neon http: types, params, errors with code/constraint, transactions, auth: ok");
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
    assert.match(info.neonFetchEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/sql$/);
    await checkPostgres(info);
    await checkDirectRoute(info);
    await checkNeonHttp(info);
    const redis = await checkUpstash(info);
    await checkRatelimit(redis);
    await checkRedisStop(stack, redis);
    await timed("stop()", () => stack!.stop());
    assert.equal(await leftovers(dataDir), "", "processes left after stop()");
    say("no process of the run is left: ok");

    stack = await timed("warm start (existing data dir)", () => startStack({ dataDir, ports: FREE_PORTS }));
    await checkPostgres(stack.info);
    await checkDirectRoute(stack.info);
    await checkNeonHttp(stack.info);
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
