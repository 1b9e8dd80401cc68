import { sql, type SQL } from "drizzle-orm";
import { arrayLiteral } from "../../src/db/array-literal";
import { ROW_PARAMS_0027 } from "./place-orders-0027";
import { lockArguments0029 } from "./place-orders-0029";
import type { PlacementFunding } from "../../src/domain/market/commands";
import type { FencePass } from "../../durable-objects/market/lock-fence";

/**
 * The arguments of `place_orders` before 0027 (0020's, 0026's): 0027's plus each placement's id
 * and client id (its first row's).
 */
export function lockArguments0026(placements: readonly PlacementFunding[]): SQL {
  const firsts = placements.map((f) => f.rows[0]!);
  return sql`${lockArguments0029(placements, ROW_PARAMS_0027)}, f_id => ${arrayLiteral(firsts.map((r) => r.id))}::uuid[], f_coid => ${arrayLiteral(firsts.map((r) => r.client_order_id))}::text[]`;
}

/**
 * The funds lock as the release before 0027 sends it (migrations/0026's `place_orders`, which
 * still serves while 0027 migrates), answering `{"mark", "r": [one object per placement]}`. For
 * the bench's A/B and the tests that compare the two.
 */
export function lockStatement0026(placements: readonly PlacementFunding[], fence?: FencePass): SQL {
  return sql`select place_orders(f_fence_market => ${fence?.market ?? null}::text, f_fence_epoch => ${fence?.epoch ?? null}::bigint, ${lockArguments0026(placements)}) as r`;
}
