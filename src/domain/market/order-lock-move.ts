import { eq } from "drizzle-orm";
import type { DbTransaction } from "../../db/client";
import { orders } from "../../db/schema";
import { lockFunds, releaseFunds } from "../ledger/ledger";
import type { OrderRow } from "./order-view";

/** Funds an order takes beyond its lock (`lock`) or gives back (`release`), as one ledger entry. */
export interface OrderLockMove {
  kind: "lock" | "release";
  amount: bigint;
  type: string;
  reference: string;
}

/**
 * Moves an order's funds outside settlement (an amendment's extra lock or its undo, a pending
 * order's release) in the caller's transaction, with the order row already locked `for update`:
 * the ledger entry (none for a zero amount) and the row's counter (`locked_amount` or
 * `released_amount`) move together (the counter only when the entry was new), with `changes`
 * written in the same update.
 */
export async function moveOrderLock(
  tx: DbTransaction,
  order: OrderRow,
  move: OrderLockMove,
  changes: Partial<typeof orders.$inferInsert>,
): Promise<OrderRow> {
  const { amount, type, reference } = move;
  let moved = 0n;
  if (amount > 0n) {
    const post = move.kind === "lock" ? lockFunds : releaseFunds;
    const posted = await post(tx, { userId: order.userId, asset: order.lockAsset, amount, type, reference });
    // An entry already posted under this (type, reference) moved nothing now, nor does the counter.
    if (posted.applied) moved = amount;
  }
  const counter =
    move.kind === "lock"
      ? { lockedAmount: order.lockedAmount + moved }
      : { releasedAmount: order.releasedAmount + moved };
  const [row] = await tx
    .update(orders)
    .set({ ...counter, updatedAt: new Date(), ...changes })
    .where(eq(orders.id, order.id))
    .returning();
  return row!;
}
