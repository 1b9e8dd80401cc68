import { sql } from "drizzle-orm";
import type { Database } from "../../src/db/client";
import { assets, markets, users } from "../../src/db/schema";
import { hashPassword } from "../../src/lib/password-hash";

/** Demo assets (amounts in each asset's minor units). */
export const DEMO_ASSETS = [
  {
    code: "BTC",
    chain: "bitcoin" as const,
    name: "Bitcoin",
    decimals: 8,
    confirmations: 2,
    withdrawalFee: 10_000n,
    minWithdrawal: 100_000n,
  },
  {
    code: "ETH",
    chain: "ethereum" as const,
    name: "Ether",
    decimals: 18,
    confirmations: 12,
    withdrawalFee: 2n * 10n ** 15n,
    minWithdrawal: 10n ** 16n,
  },
  {
    code: "USDT",
    chain: "ethereum" as const,
    name: "Tether USD (ERC-20)",
    decimals: 6,
    confirmations: 12,
    withdrawalFee: 1_000_000n,
    minWithdrawal: 10_000_000n,
  },
  {
    code: "USDC",
    chain: "ethereum" as const,
    name: "USD Coin (ERC-20)",
    decimals: 6,
    confirmations: 12,
    withdrawalFee: 1_000_000n,
    minWithdrawal: 10_000_000n,
  },
];

/** Demo markets: tick 0.01 USDT; lots of 0.00001 BTC and 0.0001 ETH; min notional 5 USDT. */
export const DEMO_MARKETS = [
  {
    symbol: "BTC-USDT",
    baseAsset: "BTC",
    quoteAsset: "USDT",
    tickSize: 10_000n,
    lotSize: 1_000n,
    minQuantity: 1_000n,
    maxQuantity: 10_000_000_000n,
    minNotional: 5_000_000n,
    makerFeeBps: 10,
    takerFeeBps: 20,
  },
  {
    symbol: "ETH-USDT",
    baseAsset: "ETH",
    quoteAsset: "USDT",
    tickSize: 10_000n,
    lotSize: 10n ** 14n,
    minQuantity: 10n ** 14n,
    maxQuantity: 10n ** 21n,
    minNotional: 5_000_000n,
    makerFeeBps: 10,
    takerFeeBps: 20,
  },
];

export interface SeedOptions {
  adminEmail: string;
  adminPassword: string;
}

/** Idempotent: existing rows are kept as they are, so re-running never clobbers local changes. */
export async function seedDemoData(db: Database, options: SeedOptions): Promise<{ adminCreated: boolean }> {
  await db.insert(assets).values(DEMO_ASSETS).onConflictDoNothing();
  await db.insert(markets).values(DEMO_MARKETS).onConflictDoNothing();
  return { adminCreated: await ensureAdmin(db, options.adminEmail, options.adminPassword) };
}

/** Creates the admin account unless one with this email exists; true when created. */
export async function ensureAdmin(db: Database, email: string, password: string): Promise<boolean> {
  const existing = await db
    .select({ id: users.id })
    .from(users)
    .where(sql`lower(${users.email}) = lower(${email})`);
  if (existing.length > 0) return false;
  await db.insert(users).values({
    email,
    firstName: "Pandora",
    lastName: "Admin",
    passwordHash: await hashPassword(password),
    role: "admin",
    kycStatus: "verified",
    emailVerifiedAt: new Date(),
  });
  return true;
}
