import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import type { Database } from "../../../src/db/client";
import type { MarketRules } from "../../../src/domain/market/market-rules";
import { ObjectSettler } from "../../../durable-objects/market/settler";
import { fakeOutboxSource } from "./fake-outbox-source";

/** What the test reaches inside the settler: its database and the Pool under it. */
interface Inside {
  database(): { db: Database };
  opened?: {
    pool: { on(event: "connect", listener: (client: unknown) => void): void; end(): Promise<void> };
  };
}

const coalesces = (client: unknown) =>
  (client as { neonConfig: { coalesceWrites: boolean } }).neonConfig.coalesceWrites;

/**
 * Statements and transactions at once on the settler's database (several connections, several
 * statements queued on one in a transaction): each answers its own statement. Returns, for every
 * connection the Pool opened meanwhile, whether it coalesces its writes.
 */
async function exercise(settler: Inside): Promise<boolean[]> {
  const { db } = settler.database();
  const opened: boolean[] = [];
  settler.opened!.pool.on("connect", (client) => opened.push(coalesces(client)));
  const value = async (query: Promise<{ rows: unknown[] }>) =>
    Number(((await query).rows[0] as { v: number }).v);
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      expect(await value(db.execute(sql`select ${i}::int + 1 as v, pg_sleep(0.005)`))).toBe(i + 1);
      await db.transaction(async (tx) => {
        const answers = await Promise.all(
          [1, 2, 3].map((k) => value(tx.execute(sql`select ${i * 10 + k}::int as v`))),
        );
        expect(answers).toEqual([i * 10 + 1, i * 10 + 2, i * 10 + 3]);
      });
    }),
  );
  return opened;
}

describe("the object settler's Pool", () => {
  it("opens every connection with coalesceWrites false, also the Pool that replaces one after a failed round", async () => {
    let enabled = true;
    let failing = false;
    const source = fakeOutboxSource(async () => {
      if (failing) throw new Error("the round fails");
      return null;
    });
    const rules = { symbol: `POOL-${crypto.randomUUID().slice(0, 8)}` } as MarketRules;
    const settler = new ObjectSettler(
      env,
      source,
      () => rules,
      () => enabled,
    );
    const inside = settler as unknown as Inside;

    const first = await exercise(inside);
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((coalesced) => coalesced === false)).toBe(true);

    // A failed round ends the Pool (the connection may be what broke); the next one is new.
    failing = true;
    settler.kick();
    await vi.waitFor(() => expect(inside.opened).toBeUndefined(), { timeout: 10_000 });
    enabled = false; // its retry finds the settler off
    failing = false;

    const second = await exercise(inside);
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((coalesced) => coalesced === false)).toBe(true);
    await inside.opened!.pool.end();
  });
});
