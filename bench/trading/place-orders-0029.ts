import { sql, type SQL } from "drizzle-orm";
import { lockParamsSql } from "../../durable-objects/market/funds-locker";
import type { FencePass } from "../../durable-objects/market/lock-fence";
import { ROW_PARAMS, rowLockParams, type RowParams } from "../../durable-objects/market/lock-params";
import { arrayLiteral } from "../../src/db/array-literal";
import type { PlacementFunding } from "../../src/domain/market/commands";

/** The per-placement arguments of `place_orders` before 0033 (0020's to 0029's): every audit field per placement. */
const PLACEMENT_PARAMS_0029: readonly [string, string, (f: PlacementFunding) => string | null][] = [
  ["lock_user", "uuid", (f) => f.lock.user_id],
  ["lock_asset", "text", (f) => f.lock.asset],
  ["lock_amount", "numeric", (f) => f.lock.amount],
  ["actor_id", "uuid", (f) => f.audit.actor_id],
  ["actor_type", "text", (f) => f.audit.actor_type],
  ["ip_address", "text", (f) => f.audit.ip_address],
  ["user_agent", "text", (f) => f.audit.user_agent],
  ["request_id", "text", (f) => f.audit.request_id],
  ["details", "jsonb", (f) => JSON.stringify(f.audit.details ?? {})],
];

/**
 * `place_orders`' arguments before 0033 (0020's to 0029's), with the row columns of `rowParams`
 * (0029's by default; 0027's took three more, ./place-orders-0027.ts).
 */
export function lockArguments0029(
  placements: readonly PlacementFunding[],
  rowParams: RowParams = ROW_PARAMS,
): SQL {
  const rows = rowLockParams(placements, rowParams);
  return lockParamsSql([
    ...PLACEMENT_PARAMS_0029.map(
      ([name, type, cell]) => [name, `${type}[]`, arrayLiteral(placements.map(cell))] as const,
    ),
    ...rows,
  ]);
}

/**
 * The funds lock as the release before 0033 sends it (migrations/0029's `place_orders`, which
 * still serves while 0033 migrates), answering as 0033 does. For the bench's A/B and the tests
 * that compare the two.
 */
export function lockStatement0029(placements: readonly PlacementFunding[], fence?: FencePass): SQL {
  return sql`select place_orders(f_fence_market => ${fence?.market ?? null}::text, f_fence_epoch => ${fence?.epoch ?? null}::bigint, ${lockArguments0029(placements)}) as r`;
}
