import { env } from "cloudflare:workers";
import { withDatabase, type DbExecutor } from "../../../src/db/client";
import { assets, markets, orders, trades, withdrawals } from "../../../src/db/schema";
import {
  EXTERNAL_WITHDRAWALS,
  FEE_INCOME,
  lockFunds,
  postJournalEntry,
  releaseFunds,
  userAvailable,
  userLocked,
} from "../../../src/domain/ledger/ledger";
import type { Mismatch } from "../../../src/services/reconciliation";
import { createTestUser, fund } from "./fixtures";

/**
 * A small consistent exchange in assets and a market of its own (so whatever other tests
 * leave in the shared database never shows up in it), built inside the caller's transaction
 * and rolled back with it. Every order, withdrawal and fee is backed by the ledger entries
 * the services would have written; `mine` keeps the mismatches that concern it.
 */
export interface World {
  base: string;
  quote: string;
  market: string;
  alice: string;
  bob: string;
  /** Alice's buy, partially filled: locked 1000 quote, consumed 300. */
  aliceBuy: string;
  /** Bob's sell, filled by that trade: locked 10 base, consumed 10. */
  bobSell: string;
  /** Alice's withdrawal of 5 base awaiting approval (its lock held). */
  pendingWithdrawal: string;
  /** A live OCO pair of Bob: the limit leg cancelled, its lock (20 base) handed to the stop leg. */
  liveOco: { limit: string; stop: string };
  /** A closed OCO pair of Bob: the lock (30 base) handed to the stop leg, which released it. */
  closedOco: { limit: string; stop: string };
  mine(mismatches: readonly Mismatch[]): Mismatch[];
}

const FIVE_MINUTES_AGO = () => new Date(Date.now() - 5 * 60_000);
const code = (prefix: string) => `${prefix}${crypto.randomUUID().slice(0, 6).toUpperCase()}`;

/** Two users committed up front (a user row alone changes no check). */
export async function worldUsers(): Promise<{ alice: string; bob: string }> {
  return { alice: await createTestUser(), bob: await createTestUser() };
}

export async function buildWorld(tx: DbExecutor, users: { alice: string; bob: string }): Promise<World> {
  const { alice, bob } = users;
  const base = code("RB");
  const quote = code("RQ");
  const market = `${base}-${quote}`;
  const asset = { decimals: 6, confirmations: 1, withdrawalFee: 1n, minWithdrawal: 2n };
  await tx.insert(assets).values([
    { code: base, name: "Reconciliation base", ...asset },
    { code: quote, name: "Reconciliation quote", ...asset },
  ]);
  await tx.insert(markets).values({
    symbol: market,
    baseAsset: base,
    quoteAsset: quote,
    tickSize: 1n,
    lotSize: 1n,
    minQuantity: 1n,
    maxQuantity: 1_000_000n,
    minNotional: 1n,
    makerFeeBps: 10,
    takerFeeBps: 10,
  });
  await fund(tx, alice, quote, 10_000n);
  await fund(tx, alice, base, 100n);
  await fund(tx, bob, base, 1_000n);

  const order = async (
    userId: string,
    side: "buy" | "sell",
    lock: bigint,
    row: Partial<typeof orders.$inferInsert>,
  ): Promise<string> => {
    const id = crypto.randomUUID();
    await tx.insert(orders).values({
      id,
      userId,
      market,
      side,
      type: "limit",
      timeInForce: "GTC",
      price: 30n,
      quantity: 10n,
      lockAsset: side === "buy" ? quote : base,
      lockedAmount: lock,
      createdAt: FIVE_MINUTES_AGO(),
      ...row,
    });
    return id;
  };
  const lock = (userId: string, a: string, amount: bigint, reference: string) =>
    lockFunds(tx, { userId, asset: a, amount, type: "order.lock", reference });

  // A trade of 10 base for 300 quote; each fee in the asset its payer receives.
  const aliceBuy = await order(alice, "buy", 1_000n, { status: "partially_filled", consumedAmount: 300n });
  await lock(alice, quote, 1_000n, aliceBuy);
  const closedAt = FIVE_MINUTES_AGO();
  const bobSell = await order(bob, "sell", 10n, { status: "filled", consumedAmount: 10n, closedAt });
  await lock(bob, base, 10n, bobSell);
  await postJournalEntry(tx, {
    type: "trade.settlement",
    reference: `${market}:1`,
    postings: [
      { account: userLocked(alice), asset: quote, amount: -300n },
      { account: userAvailable(bob), asset: quote, amount: 297n },
      { account: FEE_INCOME, asset: quote, amount: 3n },
      { account: userLocked(bob), asset: base, amount: -10n },
      { account: userAvailable(alice), asset: base, amount: 9n },
      { account: FEE_INCOME, asset: base, amount: 1n },
    ],
  });
  await tx.insert(trades).values({
    market,
    tradeId: `${market}:1`,
    seq: 1,
    price: 30n,
    quantity: 10n,
    quoteAmount: 300n,
    takerSide: "buy",
    buyOrderId: aliceBuy,
    sellOrderId: bobSell,
    buyerId: alice,
    sellerId: bob,
    buyerFee: 1n,
    sellerFee: 3n,
    executedAt: closedAt,
  });

  // Withdrawals: one still holding its lock, one sent (its fee in fee income).
  const withdrawal = async (amount: bigint, status: "pending_approval" | "sent") => {
    const [w] = await tx
      .insert(withdrawals)
      .values({ userId: alice, asset: base, address: "test-address", amount, fee: 1n, status })
      .returning({ id: withdrawals.id });
    await lockFunds(tx, { userId: alice, asset: base, amount, type: "withdrawal.lock", reference: w!.id });
    return w!.id;
  };
  const pendingWithdrawal = await withdrawal(5n, "pending_approval");
  const sent = await withdrawal(4n, "sent");
  await postJournalEntry(tx, {
    type: "withdrawal.send",
    reference: sent,
    postings: [
      { account: userLocked(alice), asset: base, amount: -4n },
      { account: EXTERNAL_WITHDRAWALS, asset: base, amount: 3n },
      { account: FEE_INCOME, asset: base, amount: 1n },
    ],
  });

  // OCO pairs, as `planSettlement` leaves them once the limit leg ended first.
  const ocoPair = async (amount: bigint, stopRow: Partial<typeof orders.$inferInsert>) => {
    const limit = crypto.randomUUID();
    await order(bob, "sell", 0n, { id: limit, ocoGroupId: limit, status: "cancelled", closedAt });
    const stop = await order(bob, "sell", amount, { ocoGroupId: limit, type: "stop_loss", ...stopRow });
    await lock(bob, base, amount, limit);
    return { limit, stop };
  };
  const liveOco = await ocoPair(20n, { status: "new" });
  const closedOco = await ocoPair(30n, { status: "cancelled", releasedAmount: 30n, closedAt });
  await releaseFunds(tx, {
    userId: bob,
    asset: base,
    amount: 30n,
    type: "order.release",
    reference: closedOco.stop,
  });

  const ours = new Set<unknown>([base, quote, market, alice, bob]);
  const mine = (mismatches: readonly Mismatch[]) =>
    mismatches.filter((m) => Object.values(m).some((v) => ours.has(v)));
  return { base, quote, market, alice, bob, aliceBuy, bobSell, pendingWithdrawal, liveOco, closedOco, mine };
}

class RolledBack extends Error {}

/** Runs `fn` in a transaction that is always rolled back, and returns what it returned. */
export async function rolledBack<T>(fn: (tx: DbExecutor) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await withDatabase(env, (db) =>
    db
      .transaction(async (tx) => {
        result = await fn(tx);
        throw new RolledBack();
      })
      .catch((err: unknown) => {
        if (!(err instanceof RolledBack)) throw err;
      }),
  );
  return result as T;
}
