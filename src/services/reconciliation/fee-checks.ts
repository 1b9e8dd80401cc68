import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import type { AssetTotals } from "./ledger-checks";
import { big, SENT_WITHDRAWAL, type Row } from "./shared";

/**
 * Fee income against what earned it: per asset, the `fee_income` account must hold exactly
 * the trades' fees (the buyer's in the market's base asset, the seller's in its quote, as
 * `settleFill` charges them) plus the fees of withdrawals that were sent (the `sent` transition
 * posts them). Anything else in fee income was created or lost by a bug.
 */

export interface FeeMismatch {
  kind: "fee_income_mismatch";
  asset: string;
  /** What the `fee_income` account holds. */
  postings: bigint;
  /** Fees recorded on trades in this asset. */
  trades: bigint;
  /** Fees of withdrawals sent in this asset. */
  withdrawals: bigint;
}

/**
 * `assets` are the ledger family's totals from the same snapshot: they already sum
 * `fee_income` per asset, so the postings are not scanned twice.
 */
export async function checkFees(tx: DbExecutor, assets: readonly AssetTotals[]): Promise<FeeMismatch[]> {
  const earned = await tx.execute(sql`
        with fees as (
          select f.asset, f.fee as trades, 0 as withdrawals
          from trades t join markets m on m.symbol = t.market,
            lateral (values (m.base_asset, t.buyer_fee), (m.quote_asset, t.seller_fee)) f(asset, fee)
          union all
          select asset, 0, fee from withdrawals where status in ${SENT_WITHDRAWAL}
        )
        select asset, sum(trades)::text as trades, sum(withdrawals)::text as withdrawals
        from fees group by asset`);
  const byAsset = new Map<string, { trades: bigint; withdrawals: bigint }>();
  for (const r of earned.rows as Row[]) {
    byAsset.set(String(r.asset), { trades: big(r.trades), withdrawals: big(r.withdrawals) });
  }
  const mismatches: FeeMismatch[] = [];
  // Every asset with fees has an `assets` row (foreign keys), so walking the totals sees them all.
  for (const a of assets) {
    const postings = a.accounts.fee_income ?? 0n;
    const { trades, withdrawals } = byAsset.get(a.asset) ?? { trades: 0n, withdrawals: 0n };
    if (postings !== trades + withdrawals) {
      mismatches.push({ kind: "fee_income_mismatch", asset: a.asset, postings, trades, withdrawals });
    }
  }
  return mismatches;
}
