import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { createMarket } from "./helpers";

/**
 * Migrations run while the previous version still serves (docs/ops/deploy.md): its market
 * objects call settle_page with jsonb pages (0016), the new ones with one flat json array (0018).
 */
describe("settle_page during a rollout", () => {
  it.each(["jsonb", "json"])("answers a call over %s pages", async (type) => {
    const market = await createMarket();
    const answer = await withDatabase(env, (db) =>
      db.execute<{ r: string }>(
        sql`select settle_page(${market}, ${crypto.randomUUID()}::text, ${"[]"}::${sql.raw(type)}, 'BTC', 'USDT', 8, false) as r`,
      ),
    );
    expect(JSON.parse(answer.rows[0]!.r)).toHaveProperty("status");
  });
});
