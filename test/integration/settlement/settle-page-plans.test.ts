import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";

/**
 * The settle_page the market objects call (0024's, over column arrays) keeps one generic plan
 * per statement and connection and never JIT-compiles (migration 0028): under plan_cache_mode =
 * auto, pages of a few entries had three of its statements planned again on every call, and on a
 * server with JIT its disabled-plan costs had those compiled on every call (~1 s a page).
 */
describe("settle_page's plans", () => {
  it("are generic, planned once per connection, and not JIT-compiled", async () => {
    const { rows } = await withDatabase(env, (db) =>
      db.execute<{ config: string[] | null }>(
        sql`select p.proconfig as config from pg_proc p
            where p.proname = 'settle_page' and 'e_seq' = any(p.proargnames)`,
      ),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.config).toContain("plan_cache_mode=force_generic_plan");
    expect(rows[0]!.config).toContain("jit=off");
    // What it set before stays.
    expect(rows[0]!.config).toEqual(expect.arrayContaining(["enable_seqscan=off", "enable_nestloop=off"]));
  });
});
