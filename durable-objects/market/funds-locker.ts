import { sql } from "drizzle-orm";
import type { LockOutcome, PlacementFunding } from "./commands";
import { KeptDatabase } from "./kept-database";

/**
 * The object's Postgres connection for placements: every placement of a flush is recorded and
 * funded by ONE call of `place_orders` (migrations/0005_place_orders.sql), one round trip
 * whatever the count. Its own connection, apart from the settler's and the sockets' reads, so a
 * long settlement round or a burst of snapshots never delays an order.
 */
export class FundsLocker {
  private readonly kept: KeptDatabase;

  constructor(env: Env) {
    this.kept = new KeptDatabase(env);
  }

  async lock(placements: readonly PlacementFunding[]): Promise<LockOutcome[]> {
    if (placements.length === 0) return [];
    return this.kept.use(async (db) => {
      const result = await db.execute<{ r: (LockOutcome & { i: number })[] }>(
        sql`select place_orders(${JSON.stringify(placements)}::jsonb) as r`,
      );
      const outcomes = new Array<LockOutcome>(placements.length);
      for (const o of result.rows[0]!.r) outcomes[o.i] = o;
      return outcomes;
    });
  }
}
