import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { big, CLOSED_ORDER, HELD_WITHDRAWAL, MAX_ROWS, OPEN_ORDER, type Row } from "./shared";

/**
 * Locks against what they are for. The ledger only knows that funds are locked; these checks
 * prove each locked unit is held by something that can still use it, and that nothing is held
 * by what has ended:
 * - `locked_mismatch`: a user's `balances.locked` in an asset differs from what their open
 *   orders still reserve (locked − consumed − released) plus their withdrawals' locks still
 *   held (`amount`, fee included, while pending_approval or approved);
 * - `closed_order_lock`: a final order whose lock is not fully accounted for
 *   (locked ≠ consumed + released): money stuck in `locked`, or released twice.
 *
 * OCO pairs share one lock, but the rows still balance one by one: placement puts the whole
 * lock on the limit leg (the stop leg holds 0), and when a leg ends while its sibling lives on,
 * settlement lowers the ending leg's `locked_amount` by exactly what it hands over and raises
 * the sibling's (`planSettlement`). So summing rows gives the pair's reserve, and each closed
 * leg has locked = consumed + released on its own; the pair's id is reported to help read it.
 */

export type LockMismatch =
  | {
      kind: "locked_mismatch";
      userId: string;
      asset: string;
      /** `balances.locked`. */
      locked: bigint;
      /** Still reserved by the user's open orders. */
      orders: bigint;
      /** Still held by the user's withdrawals not yet sent. */
      withdrawals: bigint;
    }
  | {
      kind: "closed_order_lock";
      orderId: string;
      userId: string;
      market: string;
      status: string;
      asset: string;
      ocoGroupId: string | null;
      locked: bigint;
      consumed: bigint;
      released: bigint;
    };

export async function checkLocks(tx: DbExecutor): Promise<LockMismatch[]> {
  const reserves = await tx.execute(sql`
        with held as (
          select user_id, lock_asset as asset,
                 locked_amount - consumed_amount - released_amount as orders, 0 as withdrawals
          from orders where status in ${OPEN_ORDER}
          union all
          select user_id, asset, 0, amount from withdrawals where status in ${HELD_WITHDRAWAL}
        ), r as (
          select user_id, asset, sum(orders) as orders, sum(withdrawals) as withdrawals
          from held group by user_id, asset
        )
        select coalesce(b.user_id, r.user_id)::text as user_id, coalesce(b.asset, r.asset) as asset,
               coalesce(b.locked, 0)::text as locked,
               coalesce(r.orders, 0)::text as orders, coalesce(r.withdrawals, 0)::text as withdrawals
        from balances b full outer join r on r.user_id = b.user_id and r.asset = b.asset
        where coalesce(b.locked, 0) <> coalesce(r.orders, 0) + coalesce(r.withdrawals, 0)
        order by 1, 2 limit ${MAX_ROWS}`);
  const closed = await tx.execute(sql`
        select id::text as id, user_id::text as user_id, market, status::text as status,
               lock_asset, oco_group_id::text as oco_group_id, locked_amount::text as locked,
               consumed_amount::text as consumed, released_amount::text as released
        from orders
        where status in ${CLOSED_ORDER} and locked_amount <> consumed_amount + released_amount
        order by id limit ${MAX_ROWS}`);

  const mismatches: LockMismatch[] = [];
  for (const r of reserves.rows as Row[]) {
    mismatches.push({
      kind: "locked_mismatch",
      userId: String(r.user_id),
      asset: String(r.asset),
      locked: big(r.locked),
      orders: big(r.orders),
      withdrawals: big(r.withdrawals),
    });
  }
  for (const r of closed.rows as Row[]) {
    mismatches.push({
      kind: "closed_order_lock",
      orderId: String(r.id),
      userId: String(r.user_id),
      market: String(r.market),
      status: String(r.status),
      asset: String(r.lock_asset),
      ocoGroupId: r.oco_group_id === null ? null : String(r.oco_group_id),
      locked: big(r.locked),
      consumed: big(r.consumed),
      released: big(r.released),
    });
  }
  return mismatches;
}
