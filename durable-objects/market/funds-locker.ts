import { sql } from "drizzle-orm";
import type { LockOutcome, PlacementFunding } from "../../src/domain/market/commands";
import { KeptDatabase } from "./kept-database";

const isTraceId = (id: string) => /^[0-9a-f]{32}$/.test(id);

/**
 * The object's Postgres connection for placements: every placement of a flush is recorded and
 * funded by ONE call of `place_orders` (migrations/0017_place_orders_by_key.sql), one round
 * trip and one Postgres commit whatever the count. Its own connection, apart from the settler's and the sockets' reads, so a
 * long settlement round or a burst of snapshots never delays an order.
 */
export class FundsLocker {
  private readonly kept: KeptDatabase;

  constructor(env: Env) {
    this.kept = new KeptDatabase(env);
  }

  /**
   * `traceIds`: the traces of the calls whose placements this lock carries, named in an SQL
   * comment (sqlcommenter style), so Postgres' statement logs and `pg_stat_activity` lead back
   * to the requests. Trace ids are hex, checked by the trace parser: nothing else reaches the SQL.
   */
  async lock(
    placements: readonly PlacementFunding[],
    traceIds: readonly string[] = [],
  ): Promise<LockOutcome[]> {
    if (placements.length === 0) return [];
    const comment = traceIds.length
      ? sql.raw(`/* trace_ids='${traceIds.filter(isTraceId).join(",")}' */ `)
      : sql``;
    return this.kept.use(async (db) => {
      const result = await db.execute<{ r: (LockOutcome & { i: number })[] }>(
        sql`${comment}select place_orders(${JSON.stringify(placements)}::jsonb) as r`,
      );
      const outcomes = new Array<LockOutcome>(placements.length);
      for (const o of result.rows[0]!.r) outcomes[o.i] = o;
      return outcomes;
    });
  }
}
