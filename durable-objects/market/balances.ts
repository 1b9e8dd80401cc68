// The private `balances:<market>` channel: a user's balances in the market's two assets.
// Whoever commits a change publishes it (src/domain/ledger/balance-updates.ts) and the object
// forwards it to that user's subscribed sockets, newest version first.

import type { BalanceUpdate } from "../../src/domain/ledger/balance-updates";

/** What a `balance` frame and a snapshot entry carry. */
export interface BalanceView {
  asset: string;
  available: string;
  locked: string;
}

/**
 * The newest balance the object has seen per user and asset, kept only for users with a
 * subscribed socket (in memory: after hibernation it starts empty, and the next update or a
 * subscriber's snapshot read fills it again).
 */
export class LatestBalances {
  private readonly byUser = new Map<string, Map<string, { update: BalanceUpdate; version: bigint }>>();

  /** Records `u` when it is newer than what is known; true when it is (and should be sent). */
  offer(u: BalanceUpdate): boolean {
    let version: bigint;
    try {
      version = BigInt(u.version);
    } catch {
      return false;
    }
    let assets = this.byUser.get(u.userId);
    if (!assets) this.byUser.set(u.userId, (assets = new Map()));
    const known = assets.get(u.asset);
    if (known && known.version >= version) return false;
    assets.set(u.asset, { update: u, version });
    return true;
  }

  /** The user's known balances, in the given asset order (assets not known are left out). */
  of(userId: string, assets: readonly string[]): BalanceView[] {
    const known = this.byUser.get(userId);
    if (!known) return [];
    return assets.flatMap((asset) => {
      const u = known.get(asset)?.update;
      return u ? [view(u)] : [];
    });
  }

  /** Forgets users not in `keep` (those with no subscribed socket any more). */
  retain(keep: ReadonlySet<string>): void {
    if (this.byUser.size <= keep.size) return;
    for (const userId of this.byUser.keys()) if (!keep.has(userId)) this.byUser.delete(userId);
  }
}

export const view = (u: BalanceUpdate): BalanceView => ({
  asset: u.asset,
  available: u.available,
  locked: u.locked,
});

const isString = (v: unknown, max: number): v is string => typeof v === "string" && v.length <= max;

/** Whether an RPC argument is a well-formed update (the Worker is trusted, but be strict). */
export function isBalanceUpdate(u: unknown): u is BalanceUpdate {
  if (typeof u !== "object" || u === null) return false;
  const b = u as Record<string, unknown>;
  return (
    isString(b.userId, 64) &&
    isString(b.asset, 16) &&
    isString(b.available, 100) &&
    isString(b.locked, 100) &&
    isString(b.version, 32) &&
    /^\d+$/.test(b.version)
  );
}
