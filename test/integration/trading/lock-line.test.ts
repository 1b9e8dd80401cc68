import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { Client } from "@neondatabase/serverless";
import { describe, expect, it, vi } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";
import { withDatabase } from "../../../src/db/client";

const row = <T>(r: { rows: unknown[] }) => r.rows[0] as T;
const clientOf = (line: LockLine) => (line as unknown as { client?: Client }).client!;
/** The line's WebSocket writes from now on (one a frame). */
const writesOf = (line: LockLine) =>
  vi.spyOn(clientOf(line).connection.stream as { write(bytes: Uint8Array): boolean }, "write");
const fulfilled = <T>(s: PromiseSettledResult<T>) => (s as PromiseFulfilledResult<T>).value;

describe("the funds locks' connection (durable-objects/market/lock-line.ts)", () => {
  it("statements asked for while one is out run in Postgres one after the other, in the order asked", async () => {
    const line = new LockLine(env);
    const order: number[] = [];
    // Each statement records when Postgres ran it; the first one runs longest.
    const statement = (i: number, sleep: number) =>
      line.use(async (db) => {
        const r = await db.execute(
          sql`select ${i}::int as i, clock_timestamp() as started, pg_sleep(${sleep}) is null as slept`,
        );
        order.push(i);
        return row<{ i: number; started: string }>(r);
      });
    await statement(0, 0); // the connection is up
    const writes = writesOf(line);
    const out = [statement(1, 0.2), statement(2, 0), statement(3, 0)];
    await line.sent();
    // The connection is direct: all three are on the wire while the first runs, a frame each.
    expect(writes).toHaveBeenCalledTimes(3);
    expect(order).toEqual([0]);
    const answers = await Promise.all(out);
    expect(answers.map((a) => a.i)).toEqual([1, 2, 3]);
    expect(order).toEqual([0, 1, 2, 3]);
    const started = answers.map((a) => Date.parse(a.started));
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(190); // the second waited for the first
    expect(started[2]!).toBeGreaterThanOrEqual(started[1]!);
  });

  it("over the pooler a statement is written only once the one before it is answered, and all run in the order asked", async () => {
    const line = new LockLine({ ...env, DATABASE_URL_DIRECT: "" });
    await line.use((db) => db.execute(sql`select 1`)); // the connection is up
    const writes = writesOf(line);
    const out = [0.2, 0, 0].map((sleep, i) =>
      line.use((db) =>
        db.execute(
          sql`select ${i}::int as i, clock_timestamp() as started, pg_sleep(${sleep}) is null as slept`,
        ),
      ),
    );
    await line.sent();
    expect(writes).toHaveBeenCalledTimes(1); // PgBouncer 1.18 would split a statement written now
    const answers = (await Promise.all(out)).map((r) => row<{ i: number; started: string }>(r));
    expect(answers.map((a) => a.i)).toEqual([0, 1, 2]);
    expect(writes).toHaveBeenCalledTimes(3);
    expect(Date.parse(answers[1]!.started) - Date.parse(answers[0]!.started)).toBeGreaterThanOrEqual(190);
  });

  it("statements asked while the connection opens are written once it is open, and answered in order", async () => {
    const line = new LockLine(env);
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        line.use((db) => db.execute(sql`select ${i}::int as i, pg_backend_pid() as pid`)),
      ),
    );
    const rows = answers.map((r) => row<{ i: number; pid: number }>(r));
    expect(rows.map((r) => r.i)).toEqual([1, 2, 3, 4]);
    expect(new Set(rows.map((r) => r.pid)).size).toBe(1); // one connection
  });

  it("pipelined statements get their own answers: each its rows, whatever their count and shape", async () => {
    const line = new LockLine(env);
    await line.use((db) => db.execute(sql`select 1`));
    const writes = writesOf(line);
    const out = [3, 0, 1, 5].map((n) =>
      line.use((db) =>
        db.execute(sql`select ${n}::int as n, g, ${`s${n}`}::text as s from generate_series(1, ${n}) g`),
      ),
    );
    await line.sent();
    expect(writes).toHaveBeenCalledTimes(4);
    const answers = await Promise.all(out);
    expect(answers.map((a) => a.rows)).toEqual(
      [3, 0, 1, 5].map((n) => Array.from({ length: n }, (_, k) => ({ n, g: k + 1, s: `s${n}` }))),
    );
  });

  it("an error Postgres answers in the middle of pipelined statements fails that one alone: the ones written after it run and get their own answers", async () => {
    const line = new LockLine(env);
    await line.use((db) => db.execute(sql`select 1`));
    const client = clientOf(line);
    const writes = writesOf(line);
    const settled = Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(0.1), 1 as x`)),
      line.use((db) => db.execute(sql`select 1 / (${0}::int) as x`)),
      line.use((db) => db.execute(sql`select 3 as x`)),
      // Its effect is seen by the next: Postgres ran it after the failure, on the same session.
      line.use((db) => db.execute(sql`select set_config('pandora.after_error', ${"ran"}, false) as x`)),
      line.use((db) => db.execute(sql`select current_setting('pandora.after_error') as x`)),
    ]);
    await line.sent();
    expect(writes).toHaveBeenCalledTimes(5); // all out at once
    const results = await settled;
    expect(results.map((s) => s.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect(
      String(
        (results[1] as PromiseRejectedResult).reason.cause ?? (results[1] as PromiseRejectedResult).reason,
      ),
    ).toMatch(/division by zero/);
    expect(
      [0, 2, 3, 4].map((i) => row<{ x: unknown }>(fulfilled(results[i]!) as { rows: unknown[] }).x),
    ).toEqual([1, 3, "ran", "ran"]);
    expect(clientOf(line)).toBe(client); // the connection was kept
  });

  it("a lost connection fails every statement out on it; the next call opens another", async () => {
    const line = new LockLine(env);
    const { pid } = row<{ pid: number }>(
      await line.use((db) => db.execute(sql`select pg_backend_pid() as pid`)),
    );
    const started = Date.now();
    const settled = Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(5)`)),
      line.use((db) => db.execute(sql`select 2 as x`)),
      line.use((db) => db.execute(sql`select 3 as x`)),
    ]);
    await line.sent();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await withDatabase(env, (db) => db.execute(sql`select pg_terminate_backend(${pid}::int)`));
    expect((await settled).map((s) => s.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    const again = row<{ pid: number }>(
      await line.use((db) => db.execute(sql`select pg_backend_pid() as pid`)),
    );
    expect(again.pid).not.toBe(pid);
  });

  it("a statement unanswered in time drops the connection: it and every statement written behind it fail", async () => {
    const line = new LockLine(env, { answerMs: 300, idleMs: 10_000 });
    await line.use((db) => db.execute(sql`select 1`));
    const client = clientOf(line);
    const started = Date.now();
    const settled = await Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(2)`)),
      line.use((db) => db.execute(sql`select 2 as x`)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(row<{ x: number }>(await line.use((db) => db.execute(sql`select 5 as x`))).x).toBe(5);
    expect(clientOf(line)).not.toBe(client);
  });

  it("a statement Postgres answers with an error fails alone: the one queued behind it is reported as it ended", async () => {
    const line = new LockLine(env);
    await line.use((db) => db.execute(sql`select 1`)); // the connection is up
    const settled = await Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(0.05), 1 / 0 as x`)),
      line.use((db) => db.execute(sql`select 3 as x`)),
    ]);
    expect(settled[0]!.status).toBe("rejected");
    // Written the moment the failure was answered: had the line dropped the connection then,
    // this statement would be reported failed though Postgres ran it.
    expect(settled[1]!.status).toBe("fulfilled");
    expect(row<{ x: number }>((settled[1] as PromiseFulfilledResult<{ rows: unknown[] }>).value).x).toBe(3);
  });

  it("a statement behind a slow one has its full time from when that one is answered, not from when it was asked", async () => {
    const line = new LockLine(env, { answerMs: 1_000, idleMs: 10_000 });
    await line.use((db) => db.execute(sql`select 1`)); // the connection is up
    const settled = await Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(0.8)`)),
      // Started by Postgres at ~0.8 s, answered at ~1.3 s: past 1 s from its call, well within 1 s of its start.
      line.use((db) => db.execute(sql`select pg_sleep(0.5), 2 as x`)),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled"]);
  });

  it("closes the connection after the idle time with nothing out; the next call opens another", async () => {
    const line = new LockLine(env, { answerMs: 10_000, idleMs: 100 });
    await line.use((db) => db.execute(sql`select 1`));
    // This line's own connection: other lines in the isolate (earlier tests and files) close
    // theirs on their own idle timers meanwhile.
    const client = (line as unknown as { client?: Client }).client;
    expect(client).toBeInstanceOf(Client); // kept while the statement was out
    const ended = vi.spyOn(client!, "end");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(ended).toHaveBeenCalledTimes(1);
    const again = await line.use((db) => db.execute(sql`select 5 as x`));
    expect(row<{ x: number }>(again).x).toBe(5);
    expect((line as unknown as { client?: Client }).client).not.toBe(client);
  });
});
