import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { balances, ledgerPostings, markets, orders } from "../../../src/db/schema";
import { parseUnits } from "../../../src/lib/money";
import { account, api, login } from "../auth/helpers";
import { loadMarketRules, orderBook } from "../../../src/services/trading/market-directory";
import { settleMarket } from "../../../src/domain/settlement/settle-market";
import { fund } from "../wallets/fixtures";

/** Minor units from a decimal literal of a test (never for real amounts: floats). */
export const BTC = (s: string) => BigInt(Math.round(Number(s) * 1e8));
export const USDT = (s: string) => BigInt(Math.round(Number(s) * 1e6));

/** Settles the market now and waits for any settler holding it (the object's own included). */
export async function settle(market: string) {
  return withDatabase(env, async (db) =>
    settleMarket(db, orderBook(env, market), await loadMarketRules(db, market, true), { wait: true }),
  );
}

/**
 * A fresh BTC/USDT market under its own symbol (BTC-USDT's seeded rules), so every test has
 * its own order book object and settlement cursor.
 */
export async function createMarket(overrides: Partial<typeof markets.$inferInsert> = {}): Promise<string> {
  const symbol = `T${crypto.randomUUID().replace(/-/g, "").slice(0, 8).toUpperCase()}-USDT`;
  await withDatabase(env, (db) =>
    db.insert(markets).values({
      symbol,
      baseAsset: "BTC",
      quoteAsset: "USDT",
      tickSize: 10_000n,
      lotSize: 1_000n,
      minQuantity: 1_000n,
      maxQuantity: 10_000_000_000n,
      minNotional: 5_000_000n,
      makerFeeBps: 10,
      takerFeeBps: 20,
      ...overrides,
    }),
  );
  return symbol;
}

export interface Trader {
  id: string;
  token: string;
}

/** A KYC-verified user signed in, funded with the given decimal amounts. */
export async function trader(funds: Record<string, string> = {}): Promise<Trader> {
  const user = await account({ kycStatus: "verified" });
  await withDatabase(env, async (db) => {
    for (const [asset, amount] of Object.entries(funds)) {
      await fund(db, user.id, asset, parseUnits(amount, asset === "BTC" ? 8 : asset === "ETH" ? 18 : 6));
    }
  });
  const tokens = await login(user.email);
  return { id: user.id, token: tokens.access_token };
}

/** A resting-size limit buy (0.001 base) at `price` on `market`. */
export const bid = (market: string, price: string) => ({
  market,
  side: "buy",
  type: "limit",
  price,
  quantity: "0.001",
});

export async function placeOrder(
  t: Trader,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return api("POST", "/api/v1/orders", { token: t.token, body, headers });
}

export async function placed(t: Trader, body: Record<string, unknown>) {
  const res = await placeOrder(t, body);
  const json = (await res.json()) as { order: Record<string, string>; fills: Record<string, string>[] };
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json;
}

/** available/locked in minor units. */
export async function balanceOf(
  userId: string,
  asset: string,
): Promise<{ available: bigint; locked: bigint }> {
  const [row] = await withDatabase(env, (db) =>
    db
      .select()
      .from(balances)
      .where(sql`${balances.userId} = ${userId} and ${balances.asset} = ${asset}`),
  );
  return { available: row?.available ?? 0n, locked: row?.locked ?? 0n };
}

/** Sum over every account (users, fee income, external) of an asset: zero when conserved. */
/**
 * Runs `during` while another connection holds `userId`'s `asset` balance row (a long transfer, an
 * operator's script): a funds lock on that row waits in Postgres until `during` has finished.
 */
export function holdingBalanceRow<T>(userId: string, asset: string, during: () => Promise<T>): Promise<T> {
  return withDatabase(env, (db) =>
    db.transaction(async (tx) => {
      await tx
        .select({ id: balances.userId })
        .from(balances)
        .where(and(eq(balances.userId, userId), eq(balances.asset, asset)))
        .for("update");
      return during();
    }),
  );
}

export async function ledgerSum(asset: string): Promise<bigint> {
  const [row] = await withDatabase(env, (db) =>
    db
      .select({ sum: sql<string>`coalesce(sum(${ledgerPostings.amount}), 0)::text` })
      .from(ledgerPostings)
      .where(eq(ledgerPostings.asset, asset)),
  );
  return BigInt(row!.sum);
}

/** Fee income in an asset, from the postings of a market's settlement entries. */
export async function feesOfMarket(market: string, asset: string): Promise<bigint> {
  const [row] = await withDatabase(env, (db) =>
    db.execute<{ sum: string }>(sql`
      select coalesce(sum(p.amount), 0)::text as sum from ledger_postings p
      join ledger_entries e on e.id = p.entry_id
      where p.account = 'fee_income' and p.asset = ${asset} and e.type = 'trade.settlement'
        and e.reference like ${`${market}:%`}`),
  ).then((r) => r.rows);
  return BigInt(row!.sum);
}

/** What a user's open orders still reserve, per asset (locked − consumed − released). */
export async function reservedByOpenOrders(userId: string, asset: string): Promise<bigint> {
  const [row] = await withDatabase(env, (db) =>
    db.execute<{ sum: string }>(sql`
      select coalesce(sum(${orders.lockedAmount} - ${orders.consumedAmount} - ${orders.releasedAmount}), 0)::text as sum
      from ${orders} where ${orders.userId} = ${userId} and ${orders.lockAsset} = ${asset}`),
  ).then((r) => r.rows);
  return BigInt(row!.sum);
}

/** An order as the API answers it. */
export type Order = Record<string, unknown> & { id: string; status: string; locked: Record<string, string> };

/** GET /api/v1/orders/{id} as the trader. */
export async function getOrder(t: Trader, id: string): Promise<Order> {
  const res = await api("GET", `/api/v1/orders/${id}`, { token: t.token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { order: Order }).order;
}

/** Places an OCO pair through POST /api/v1/orders (201 expected). */
export async function oco(t: Trader, body: Record<string, unknown>) {
  const res = await placeOrder(t, { type: "oco", ...body });
  const json = (await res.json()) as { order: Order; orders: Order[]; fills: Record<string, string>[] };
  expect(res.status, JSON.stringify(json)).toBe(201);
  return json;
}

/**
 * The invariants after every step: each user's locked balance per asset is exactly what their
 * orders still reserve (locked − consumed − released; closed orders reserve 0), and per asset
 * the traders' balances plus the market's fees equal what they were funded with.
 */
export async function expectBooksBalanced(
  market: string,
  traders: Trader[],
  funded: Record<string, bigint>,
  sums: Record<string, bigint>,
) {
  for (const asset of Object.keys(funded)) {
    let total = 0n;
    for (const t of traders) {
      const b = await balanceOf(t.id, asset);
      expect(b.locked, `${asset} locked of ${t.id}`).toBe(await reservedByOpenOrders(t.id, asset));
      total += b.available + b.locked;
    }
    expect(total + (await feesOfMarket(market, asset)), `${asset} conserved`).toBe(funded[asset]);
    expect(await ledgerSum(asset)).toBe(sums[asset]);
  }
}

/** The ledger sum of each test asset (zero whenever every entry balances). */
export async function ledgerSums() {
  return { BTC: await ledgerSum("BTC"), USDT: await ledgerSum("USDT") };
}

/**
 * A fresh market and its traders, funded in the order named, then the ledger's sums:
 * `expectBalanced()` checks that every unit the traders brought is still theirs, available or
 * locked as their open orders say (`expectBooksBalanced`).
 */
export async function tradingFloor<const N extends string>(funds: Record<N, Record<string, string>>) {
  const market = await createMarket();
  const traders = {} as Record<N, Trader>;
  const funded: Record<string, bigint> = { BTC: 0n, USDT: 0n };
  for (const [name, assets] of Object.entries(funds) as [N, Record<string, string>][]) {
    traders[name] = await trader(assets);
    for (const [asset, amount] of Object.entries(assets))
      funded[asset]! += asset === "BTC" ? BTC(amount) : USDT(amount);
  }
  const sums = await ledgerSums();
  const expectBalanced = () => expectBooksBalanced(market, Object.values(traders), funded, sums);
  return { market, ...traders, expectBalanced };
}
