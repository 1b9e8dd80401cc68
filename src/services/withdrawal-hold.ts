import { eq, sql } from "drizzle-orm";
import type { DbExecutor } from "../db/client";
import { users } from "../db/schema";

/**
 * After a change that a thief with a stolen session or password would make first (password
 * change or reset, 2FA on or off, a new `withdraw` key, the allow-list switched off), no
 * withdrawal leaves for 24 h: time for the owner to notice the notification and react.
 */
export const WITHDRAWAL_HOLD_HOURS = 24;

/** Starts (or extends) the user's hold inside the caller's transaction; returns its end. */
export async function holdWithdrawals(tx: DbExecutor, userId: string): Promise<Date> {
  const [row] = await tx
    .update(users)
    .set({
      withdrawalsHeldUntil: sql`greatest(coalesce(${users.withdrawalsHeldUntil}, now()), now() + make_interval(hours => ${WITHDRAWAL_HOLD_HOURS}))`,
    })
    .where(eq(users.id, userId))
    .returning({ until: users.withdrawalsHeldUntil });
  return row!.until!;
}
