import { sql, type SQL } from "drizzle-orm";
import { ROW_PARAMS, type RowParams } from "../../durable-objects/market/lock-params";
import { lockArguments0029 } from "./place-orders-0029";
import type { PlacementFunding } from "../../src/domain/market/commands";
import type { FencePass } from "../../durable-objects/market/lock-fence";

/** The row columns `place_orders` took before 0029 (0020's to 0027's): 0029's and the three it takes from the lock. */
export const ROW_PARAMS_0027: RowParams = {
  ...ROW_PARAMS,
  user_id: ["r_user_id", "uuid"],
  lock_asset: ["r_lock_asset", "text"],
  locked_amount: ["locked_amount", "numeric"],
};

/**
 * The funds lock as the release before 0029 sends it (migrations/0027's `place_orders`, which
 * still serves while 0029 migrates), answering as 0029 does. For the bench's A/B and the tests
 * that compare the two.
 */
export function lockStatement0027(placements: readonly PlacementFunding[], fence?: FencePass): SQL {
  return sql`select place_orders(f_fence_market => ${fence?.market ?? null}::text, f_fence_epoch => ${fence?.epoch ?? null}::bigint, ${lockArguments0029(placements, ROW_PARAMS_0027)}) as r`;
}
