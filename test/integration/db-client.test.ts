import { env } from "cloudflare:workers";
import { eq, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { openRequestDatabase, withDatabase, type Database } from "../../src/db/client";
import { users } from "../../src/db/schema";
import { TEST_ADMIN } from "../setup/global-stack";

// The request-scoped database: plain queries over Neon's HTTP endpoint (the stack's local server
// of that protocol, whose connections name themselves `neon-http-endpoint`), transactions over a
// WebSocket Pool opened on first use. The Worker shares this isolate, so its fetches show here.

const original = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = original;
});

function countSqlFetches(): { count: number } {
  const seen = { count: 0 };
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === env.NEON_FETCH_ENDPOINT) seen.count++;
    return original(input as RequestInfo, init);
  }) as typeof fetch;
  return seen;
}

async function applicationName(db: Pick<Database, "execute">): Promise<string> {
  const result = await db.execute<{ name: string }>(sql`select current_setting('application_name') as name`);
  return result.rows[0]!.name;
}

/** Runs `fn`, then drops the scratch table it used (over a fresh database: `fn` may have closed its own). */
async function withScratchTable(fn: (table: string) => Promise<void>): Promise<void> {
  const table = `db_client_test_${crypto.randomUUID().replaceAll("-", "")}`;
  try {
    await fn(table);
  } finally {
    await withDatabase(env, (db) => db.execute(sql.raw(`drop table if exists ${table}`)));
  }
}

describe("the request database", () => {
  it("runs each plain query as one HTTP request and opens no Pool for them", async () => {
    const { db, close } = openRequestDatabase(env);
    const fetches = countSqlFetches();
    expect(await applicationName(db)).toBe("neon-http-endpoint");
    const [admin] = await db.select({ id: users.id }).from(users).where(eq(users.email, TEST_ADMIN.email));
    expect(admin?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await db.$count(users, eq(users.email, TEST_ADMIN.email))).toBe(1);
    expect(fetches.count).toBe(3);
    await close();
  });

  it("runs a transaction on a Pool, with rollback and savepoints", async () => {
    await withScratchTable(async (table) => {
      const { db, close } = openRequestDatabase(env);
      await db.execute(sql.raw(`create table ${table} (id int primary key)`));
      const name = await db.transaction(async (tx) => {
        await tx.execute(sql.raw(`insert into ${table} values (1)`));
        await tx
          .transaction(async (inner) => {
            await inner.execute(sql.raw(`insert into ${table} values (2)`));
            throw new Error("undo the savepoint");
          })
          .catch(() => undefined);
        return applicationName(tx);
      });
      expect(name).not.toBe("neon-http-endpoint");
      await expect(
        db.transaction(async (tx) => {
          await tx.execute(sql.raw(`insert into ${table} values (3)`));
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      const ids = await db.execute<{ id: number }>(sql.raw(`select id from ${table} order by id`));
      expect(ids.rows).toEqual([{ id: 1 }]);
      await close();
      await close(); // idempotent
      // After close (work in a waitUntil): a Pool for that transaction alone.
      expect(await db.transaction((tx) => applicationName(tx))).not.toBe("neon-http-endpoint");
    });
  });

  it("reads a row the same over HTTP as over the Pool (dates, enums, nulls)", async () => {
    const { db, close } = openRequestDatabase(env);
    const query = (d: Pick<Database, "select">) =>
      d.select().from(users).where(eq(users.email, TEST_ADMIN.email));
    const [overHttp] = await query(db);
    const [overPool] = await db.transaction((tx) => query(tx));
    expect(overHttp).toEqual(overPool);
    expect(overHttp?.createdAt).toBeInstanceOf(Date);
    expect(overHttp?.role).toBe("admin");
    await close();
  });

  it("gives raw results the Pool's shape and errors Postgres' code and constraint", async () => {
    await withScratchTable(async (table) => {
      await withDatabase(env, async (db) => {
        await db.execute(
          sql.raw(
            `create table ${table} (id int primary key, qty int constraint ${table}_qty check (qty >= 0))`,
          ),
        );
        const inserted = await db.execute(sql.raw(`insert into ${table} values (1, 1), (2, 2)`));
        const updated = await db.transaction((tx) =>
          tx.execute(sql.raw(`update ${table} set qty = qty + 1`)),
        );
        for (const result of [inserted, updated]) {
          expect(result.rowCount).toBe(2);
          expect(result.rows).toEqual([]);
        }
        expect(inserted.command).toBe("INSERT");
        expect(updated.command).toBe("UPDATE");

        const failure = async (run: Promise<unknown>) => {
          const err = await run.then(
            () => undefined,
            (e: unknown) => e,
          );
          // Services walk the cause chain for Postgres' fields (drizzle wraps the driver's error).
          for (let e: unknown = err; e instanceof Error; e = e.cause) {
            if ((e as { code?: string }).code) return e as Error & { code: string; constraint?: string };
          }
          throw new Error(`no Postgres error in ${String(err)}`);
        };
        const duplicate = await failure(db.execute(sql.raw(`insert into ${table} values (1, 0)`)));
        expect(duplicate).toMatchObject({ code: "23505", constraint: `${table}_pkey` });
        const negative = await failure(db.execute(sql.raw(`update ${table} set qty = -1`)));
        expect(negative).toMatchObject({ code: "23514", constraint: `${table}_qty` });
        const inTransaction = await failure(
          db.transaction((tx) => tx.execute(sql.raw(`insert into ${table} values (2, 0)`))),
        );
        expect(inTransaction).toMatchObject({ code: "23505", constraint: `${table}_pkey` });
      });
    });
  });
});
