import { and, eq, sql } from "drizzle-orm";
import { keysetPage, matching, nextTimeCursor, timeKeyset, type TimeCursor } from "../db/keyset";
import type { Database, DbTransaction } from "../db/client";
import { assets, deposits } from "../db/schema";
import type { RequestMetadata } from "../http/request-metadata";
import { AppError, ErrorCode, unprocessable } from "../lib/errors";
import { formatUnits } from "../lib/money";
import { findAsset, parseAmount, requireOnChain } from "./assets";
import { recordAudit } from "../domain/audit-log";
import { findAddressOwner } from "./deposit-addresses";
import { enqueueEvent } from "../domain/events/event-outbox";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../domain/ledger/ledger";

export type Deposit = typeof deposits.$inferSelect;

/** What the chain watcher reports: one transaction output paying one of our addresses. */
export interface DepositNotice {
  asset: string;
  txHash: string;
  vout: number;
  address: string;
  amount: string;
  confirmations: number;
}

export interface DepositOutcome {
  deposit: Deposit;
  /** True when this notice credited the deposit (at most once per deposit, ever). */
  creditedNow: boolean;
}

const sameDeposit = (d: Deposit, userId: string, amount: bigint) =>
  d.userId === userId && d.amount === amount;

/**
 * Records a deposit notice, idempotent on (asset, tx hash, output index): the first notice
 * creates it pending; any notice that brings it to the asset's confirmations credits it, once
 * (the row lock serializes concurrent notices and the ledger entry is unique per deposit).
 */
export async function recordDepositNotice(
  db: Database,
  notice: DepositNotice,
  metadata: RequestMetadata,
): Promise<DepositOutcome> {
  const asset = await findAsset(db, notice.asset, "body");
  const chain = requireOnChain(asset, { allowDisabled: true });
  const amount = parseAmount(asset, notice.amount);
  const owner = await findAddressOwner(db, chain, notice.address);
  if (!owner) {
    throw unprocessable(
      "The address is not a deposit address of this exchange",
      ErrorCode.UNKNOWN_DEPOSIT_ADDRESS,
      {
        asset: asset.code,
      },
    );
  }
  // One spelling per transaction, so "0xAB.." and "ab.." cannot be two deposits of one output.
  const hex = notice.txHash.toLowerCase().replace(/^0x/, "");
  const txHash = chain === "ethereum" ? `0x${hex}` : hex;
  return db.transaction(async (tx) => {
    const [created] = await tx
      .insert(deposits)
      .values({
        asset: asset.code,
        txHash,
        vout: notice.vout,
        address: owner.address,
        userId: owner.userId,
        amount,
        confirmations: notice.confirmations,
      })
      .onConflictDoNothing({ target: [deposits.asset, deposits.txHash, deposits.vout] })
      .returning();
    const [row] = await tx
      .select()
      .from(deposits)
      .where(and(eq(deposits.asset, asset.code), eq(deposits.txHash, txHash), eq(deposits.vout, notice.vout)))
      .for("update");
    let deposit = row!;
    if (!sameDeposit(deposit, owner.userId, amount)) {
      throw new AppError(
        409,
        ErrorCode.DEPOSIT_MISMATCH,
        "This output was already reported with other details",
        {
          deposit_id: deposit.id,
        },
      );
    }
    if (!created && notice.confirmations > deposit.confirmations) {
      const [updated] = await tx
        .update(deposits)
        .set({ confirmations: notice.confirmations, updatedAt: sql`now()` })
        .where(eq(deposits.id, deposit.id))
        .returning();
      deposit = updated!;
    }
    if (deposit.status === "credited" || deposit.confirmations < asset.confirmations) {
      if (created) await depositEvent(tx, "deposit.pending", deposit, asset.decimals, metadata);
      return { deposit, creditedNow: false };
    }
    await postJournalEntry(tx, {
      type: "deposit",
      reference: deposit.id,
      metadata: { tx_hash: deposit.txHash, vout: deposit.vout },
      postings: [
        { account: EXTERNAL_DEPOSITS, asset: asset.code, amount: -amount },
        { account: userAvailable(deposit.userId), asset: asset.code, amount },
      ],
    });
    const [credited] = await tx
      .update(deposits)
      .set({ status: "credited", creditedAt: sql`now()`, updatedAt: sql`now()` })
      .where(eq(deposits.id, deposit.id))
      .returning();
    await recordAudit(tx, {
      actorId: null,
      actorType: "webhook",
      action: "deposit.credit",
      resourceType: "deposit",
      resourceId: deposit.id,
      details: {
        user_id: deposit.userId,
        asset: asset.code,
        amount: amount.toString(),
        tx_hash: deposit.txHash,
      },
      metadata,
    });
    await depositEvent(tx, "deposit.credited", credited!, asset.decimals, metadata);
    return { deposit: credited!, creditedNow: true };
  });
}

async function depositEvent(
  tx: DbTransaction,
  type: "deposit.pending" | "deposit.credited",
  d: Deposit,
  decimals: number,
  metadata: RequestMetadata,
): Promise<void> {
  await enqueueEvent(tx, {
    stream: "wallet:events",
    type,
    userId: d.userId,
    payload: {
      deposit_id: d.id,
      asset: d.asset,
      amount: formatUnits(d.amount, decimals),
      tx_hash: d.txHash,
      vout: d.vout,
      confirmations: d.confirmations,
    },
    metadata,
  });
}

/** A user's deposits (pending and credited), newest first, with keyset pagination. */
export async function listUserDeposits(
  db: Database,
  userId: string,
  q: { asset?: string; status?: Deposit["status"]; before?: TimeCursor; limit: number },
): Promise<{ items: (Deposit & { decimals: number })[]; next: TimeCursor | null }> {
  const page = await keysetPage(
    db
      .select({ d: deposits, decimals: assets.decimals })
      .from(deposits)
      .innerJoin(assets, eq(assets.code, deposits.asset))
      .$dynamic(),
    and(eq(deposits.userId, userId), matching([deposits.asset, q.asset], [deposits.status, q.status])),
    timeKeyset(deposits.createdAt, deposits.id, q.before),
    q.limit,
  );
  const items = page.items.map((r) => ({ ...r.d, decimals: r.decimals }));
  return { items, next: nextTimeCursor({ items, more: page.more }) };
}
