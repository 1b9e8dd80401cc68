import { sql } from "drizzle-orm";
import type { DbExecutor } from "../../db/client";
import { big, MAX_ROWS, type Row } from "./shared";

/**
 * The ledger's own invariants (src/services/ledger.ts): per asset the postings sum to zero;
 * each journal entry balances per asset; every user balance row equals the sum of its
 * postings; no user balance is negative. They hold for any sequence of ledger calls, whatever
 * the calls were about (the other families check that).
 */

export type LedgerMismatch =
  | { kind: "asset_not_zero"; asset: string; sum: bigint }
  | { kind: "entry_unbalanced"; entryId: bigint; asset: string; sum: bigint }
  | {
      kind: "balance_mismatch";
      userId: string;
      asset: string;
      balance: { available: bigint; locked: bigint };
      postings: { available: bigint; locked: bigint };
    }
  | { kind: "negative_balance"; userId: string; asset: string; available: bigint; locked: bigint };

export const LEDGER_MISMATCH_KINDS: readonly LedgerMismatch["kind"][] = [
  "asset_not_zero",
  "entry_unbalanced",
  "balance_mismatch",
  "negative_balance",
];

export interface AssetTotals {
  asset: string;
  decimals: number;
  /** Sum of every posting of the asset: zero when the books balance. */
  sum: bigint;
  /** Sum of postings per account kind (the users' kinds summed over users). */
  accounts: Record<string, bigint>;
}

/** Per asset and account kind, the sum of the postings (every asset listed, even without postings). */
async function assetTotals(tx: DbExecutor): Promise<AssetTotals[]> {
  const totals = await tx.execute(sql`
        select a.code as asset, a.decimals, p.account, coalesce(p.total, 0)::text as total
        from assets a
        left join (
          select asset, account::text as account, sum(amount) as total
          from ledger_postings group by asset, account
        ) p on p.asset = a.code
        order by a.code, p.account`);
  const byAsset = new Map<string, AssetTotals>();
  for (const r of totals.rows as Row[]) {
    const asset = String(r.asset);
    const entry = byAsset.get(asset) ?? { asset, decimals: Number(r.decimals), sum: 0n, accounts: {} };
    if (r.account !== null && r.account !== undefined) {
      entry.accounts[String(r.account)] = big(r.total);
      entry.sum += big(r.total);
    }
    byAsset.set(asset, entry);
  }
  return [...byAsset.values()];
}

export async function checkLedger(
  tx: DbExecutor,
): Promise<{ assets: AssetTotals[]; mismatches: LedgerMismatch[] }> {
  const assets = await assetTotals(tx);
  const unbalanced = await tx.execute(sql`
        select entry_id::text as entry_id, asset, sum(amount)::text as total
        from ledger_postings group by entry_id, asset having sum(amount) <> 0
        order by entry_id limit ${MAX_ROWS}`);
  const balanceMismatches = await tx.execute(sql`
        with p as (
          select user_id, asset,
                 sum(case when account = 'user_available' then amount else 0 end) as available,
                 sum(case when account = 'user_locked' then amount else 0 end) as locked
          from ledger_postings where user_id is not null group by user_id, asset
        )
        select coalesce(b.user_id, p.user_id)::text as user_id, coalesce(b.asset, p.asset) as asset,
               coalesce(b.available, 0)::text as b_available, coalesce(b.locked, 0)::text as b_locked,
               coalesce(p.available, 0)::text as p_available, coalesce(p.locked, 0)::text as p_locked
        from balances b full outer join p on p.user_id = b.user_id and p.asset = b.asset
        where coalesce(b.available, 0) <> coalesce(p.available, 0)
           or coalesce(b.locked, 0) <> coalesce(p.locked, 0)
        limit ${MAX_ROWS}`);
  const negatives = await tx.execute(sql`
        select user_id::text as user_id, asset, available::text as available, locked::text as locked
        from balances where available < 0 or locked < 0 limit ${MAX_ROWS}`);

  const mismatches: LedgerMismatch[] = [];
  for (const t of assets) {
    if (t.sum !== 0n) mismatches.push({ kind: "asset_not_zero", asset: t.asset, sum: t.sum });
  }
  for (const r of unbalanced.rows as Row[]) {
    mismatches.push({
      kind: "entry_unbalanced",
      entryId: big(r.entry_id),
      asset: String(r.asset),
      sum: big(r.total),
    });
  }
  for (const r of balanceMismatches.rows as Row[]) {
    mismatches.push({
      kind: "balance_mismatch",
      userId: String(r.user_id),
      asset: String(r.asset),
      balance: { available: big(r.b_available), locked: big(r.b_locked) },
      postings: { available: big(r.p_available), locked: big(r.p_locked) },
    });
  }
  for (const r of negatives.rows as Row[]) {
    mismatches.push({
      kind: "negative_balance",
      userId: String(r.user_id),
      asset: String(r.asset),
      available: big(r.available),
      locked: big(r.locked),
    });
  }
  return { assets, mismatches };
}
