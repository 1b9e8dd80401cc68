import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { formatUnits } from "../../lib/money";
import { describeError, Logger } from "../../lib/logger";
import type { BalanceAfter } from "./ledger";
import type { MarketRules } from "../market/market-rules";

// Balance updates for the private `balances:<market>` WebSocket channel. Whoever commits a
// change in the ledger (the Worker, or a market's object settling its fills) publishes it to the
// market's object, which forwards it to the user's subscribed sockets. Publishing is best
// effort: it never fails the caller.

/** A user's balance in one asset, as it is published (decimal strings, asset decimals). */
export interface BalanceUpdate {
  userId: string;
  asset: string;
  available: string;
  locked: string;
  /**
   * Orders the updates of one (user, asset): the id of the latest ledger posting on that
   * balance row (a bigint as a decimal string). A later change always has a higher version,
   * so an update that arrives after a newer one is dropped instead of going backwards.
   */
  version: string;
}

/** The balance rows a ledger entry left, in the market's assets, as the object takes them. */
export function balanceUpdates(
  rules: Pick<MarketRules, "baseAsset" | "quoteAsset" | "baseDecimals" | "quoteDecimals">,
  rows: readonly BalanceAfter[],
): BalanceUpdate[] {
  const decimals = new Map([
    [rules.baseAsset, rules.baseDecimals],
    [rules.quoteAsset, rules.quoteDecimals],
  ]);
  return rows.flatMap((r) => {
    const d = decimals.get(r.asset);
    return d === undefined
      ? []
      : [
          {
            userId: r.userId,
            asset: r.asset,
            available: formatUnits(r.available, d),
            locked: formatUnits(r.locked, d),
            version: r.version.toString(),
          },
        ];
  });
}

/**
 * A user's current balances in `assets`, in that order (zero where there is no row), each with its version:
 * the id of the latest posting on it, read in the same statement so the two agree.
 */
export async function readBalanceUpdates(
  db: DbExecutor,
  userId: string,
  assets: readonly string[],
): Promise<BalanceUpdate[]> {
  if (assets.length === 0) return [];
  const result = await db.execute<{
    asset: string;
    decimals: number;
    available: string;
    locked: string;
    version: string;
  }>(sql`
    select a.code as asset, a.decimals,
      coalesce(b.available, 0)::text as available,
      coalesce(b.locked, 0)::text as locked,
      coalesce((select max(p.id) from ledger_postings p
                where p.user_id = ${userId} and p.asset = a.code), 0)::text as version
    from assets a
    left join balances b on b.asset = a.code and b.user_id = ${userId}
    where a.code in (${sql.join(
      assets.map((a) => sql`${a}`),
      sql`, `,
    )})`);
  const byAsset = new Map(result.rows.map((r) => [r.asset, r]));
  return assets.flatMap((asset) => {
    const r = byAsset.get(asset);
    if (!r) return []; // not an asset
    return [
      {
        userId,
        asset,
        available: formatUnits(BigInt(r.available), Number(r.decimals)),
        locked: formatUnits(BigInt(r.locked), Number(r.decimals)),
        version: r.version,
      },
    ];
  });
}

/** The order book's side of it: forwards updates to the user's subscribed sockets. */
export interface BalancePublisher {
  publishBalances(updates: BalanceUpdate[]): Promise<unknown>;
}

const fallbackLog = new Logger("info", { component: "balance-updates" });

/** Sends updates to the market's object; logs and returns on any failure. */
export async function publishBalances(
  book: BalancePublisher,
  market: string,
  updates: readonly BalanceUpdate[],
  log: Logger = fallbackLog,
): Promise<void> {
  if (updates.length === 0) return;
  try {
    await book.publishBalances([...updates]);
  } catch (err) {
    log.warn("balance updates not published", { market, count: updates.length, ...describeError(err) });
  }
}
