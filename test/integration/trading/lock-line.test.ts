import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { Client } from "@neondatabase/serverless";
import { describe, expect, it, vi } from "vitest";
import { LockLine } from "../../../durable-objects/market/lock-line";

const row = <T>(r: { rows: unknown[] }) => r.rows[0] as T;

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
    const out = [statement(1, 0.2), statement(2, 0), statement(3, 0)];
    await line.sent(); // the first is written, the others queued behind it: nothing to wait for
    expect(order).toEqual([0]);
    const answers = await Promise.all(out);
    expect(answers.map((a) => a.i)).toEqual([1, 2, 3]);
    expect(order).toEqual([0, 1, 2, 3]);
    const started = answers.map((a) => Date.parse(a.started));
    expect(started[1]! - started[0]!).toBeGreaterThanOrEqual(190); // the second waited for the first
    expect(started[2]!).toBeGreaterThanOrEqual(started[1]!);
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

  it("a statement queued behind a slow one has its full time once written, not from when it was asked", async () => {
    const line = new LockLine(env, { answerMs: 1_000, idleMs: 10_000 });
    await line.use((db) => db.execute(sql`select 1`)); // the connection is up
    const settled = await Promise.allSettled([
      line.use((db) => db.execute(sql`select pg_sleep(0.8)`)),
      // Written at ~0.8 s, answered at ~1.3 s: past 1 s from its call, well within 1 s of its write.
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
