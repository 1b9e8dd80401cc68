import { and, eq, sql } from "drizzle-orm";
import type { DbExecutor } from "../db/client";
import { depositAddresses } from "../db/schema";
import {
  deriveDepositAddress,
  normalizeAddress,
  type BitcoinNetwork,
  type Chain,
} from "../lib/chain-addresses";
import { serviceUnavailable } from "../lib/errors";
import { findAsset, requireOnChain } from "./assets";

/** Where the account xpubs come from: secrets, never private keys. */
export type XpubEnv = Partial<Pick<Env, "BTC_XPUB" | "ETH_XPUB">>;

function xpubFor(env: XpubEnv, chain: Chain): string {
  const xpub = chain === "bitcoin" ? env.BTC_XPUB : env.ETH_XPUB;
  if (!xpub || !/^[a-z]pub/.test(xpub)) throw serviceUnavailable(`Deposits on ${chain} are not configured`);
  return xpub;
}

export interface DepositAddressView {
  asset: string;
  chain: Chain;
  address: string;
  derivationIndex: number;
}

/**
 * The user's deposit address for an asset: one per user and chain (ERC-20 tokens share the
 * Ethereum address), derived at the next free index of that chain and then stable forever.
 */
export async function getDepositAddress(
  db: DbExecutor,
  env: XpubEnv,
  network: BitcoinNetwork,
  userId: string,
  assetCode: string,
): Promise<DepositAddressView> {
  const asset = await findAsset(db, assetCode, "path");
  const chain = requireOnChain(asset);
  const view = (row: { address: string; derivationIndex: number }): DepositAddressView => ({
    asset: asset.code,
    chain,
    address: row.address,
    derivationIndex: row.derivationIndex,
  });
  const existing = await findByUser(db, userId, chain);
  if (existing) return view(existing);
  const xpub = xpubFor(env, chain);
  return db.transaction(async (tx) => {
    // One allocator per chain at a time: indexes stay dense (wallet gap limits) and unique.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`deposit-index:${chain}`}, 0))`);
    const again = await findByUser(tx, userId, chain);
    if (again) return view(again);
    const [next] = await tx
      .select({ index: sql<number>`coalesce(max(${depositAddresses.derivationIndex}) + 1, 0)::int` })
      .from(depositAddresses)
      .where(eq(depositAddresses.chain, chain));
    const derivationIndex = next!.index;
    const address = deriveDepositAddress(chain, xpub, derivationIndex, network);
    await tx.insert(depositAddresses).values({ userId, chain, derivationIndex, address });
    return view({ address, derivationIndex });
  });
}

async function findByUser(db: DbExecutor, userId: string, chain: Chain) {
  const [row] = await db
    .select({ address: depositAddresses.address, derivationIndex: depositAddresses.derivationIndex })
    .from(depositAddresses)
    .where(and(eq(depositAddresses.userId, userId), eq(depositAddresses.chain, chain)));
  return row;
}

/** Whose deposit address this is, or undefined. Case-insensitive where the chain is. */
export async function findAddressOwner(
  db: DbExecutor,
  chain: Chain,
  address: string,
): Promise<{ userId: string; address: string } | undefined> {
  const [row] = await db
    .select({ userId: depositAddresses.userId, address: depositAddresses.address })
    .from(depositAddresses)
    .where(
      and(
        eq(depositAddresses.chain, chain),
        sql`lower(${depositAddresses.address}) = ${normalizeAddress(chain, address).toLowerCase()}`,
      ),
    );
  return row;
}
