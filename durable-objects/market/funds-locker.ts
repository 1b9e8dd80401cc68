import type { Pool } from "@neondatabase/serverless";
import { sql } from "drizzle-orm";
import { openDatabase, type Database } from "../../src/db/client";
import type { LockOutcome, PlacementFunding } from "./commands";

/**
 * The object's Postgres connection for placements: every placement of a flush is recorded and
 * funded by ONE call of `place_orders` (migrations/0005_place_orders.sql), one round trip
 * whatever the count. Its own Pool, apart from the settler's, so a long settlement round never
 * delays an order. The connection lives as long as the object (workerd binds an object's I/O to
 * the object), and a failed call drops it so the next flush starts on a fresh one.
 */
export class FundsLocker {
  private opened?: { db: Database; pool: Pool };

  constructor(private readonly env: Env) {}

  async lock(placements: readonly PlacementFunding[]): Promise<LockOutcome[]> {
    if (placements.length === 0) return [];
    this.opened ??= openDatabase(this.env);
    const { db } = this.opened;
    try {
      const result = await db.execute<{ r: (LockOutcome & { i: number })[] }>(
        sql`select place_orders(${JSON.stringify(placements)}::jsonb) as r`,
      );
      const outcomes = new Array<LockOutcome>(placements.length);
      for (const o of result.rows[0]!.r) outcomes[o.i] = o;
      return outcomes;
    } catch (err) {
      const broken = this.opened;
      this.opened = undefined;
      void broken?.pool.end().catch(() => {});
      throw err;
    }
  }
}
