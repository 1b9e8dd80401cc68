import { and, asc, desc, eq, or, sql } from "drizzle-orm";
import type { Database } from "../../db/client";
import { trades, watchlists } from "../../db/schema";
import { badRequest, notFound } from "../../lib/errors";
import { formatUnits } from "../../lib/money";
import { getBalances } from "../../domain/ledger/ledger";
import { loadAllMarketRules, loadMarketRules } from "./market-directory";
import type { MarketRules } from "../../domain/market/market-rules";
import {
  applyFill,
  averageCost,
  emptyPosition,
  marketValue,
  unrealizedPnl,
  type Position,
} from "./positions";

/**
 * The last trade price per base asset among the markets quoted in `quote` (quote minor units
 * per whole base unit): the newest trade of any BASE-QUOTE market.
 */
async function lastPrices(db: Database, quote: string): Promise<Map<string, bigint>> {
  const rows = await db.execute<{ base: string; price: string }>(
    sql`select distinct on (m.base_asset) m.base_asset as base, t.price::text as price
        from trades t join markets m on m.symbol = t.market
        where m.quote_asset = ${quote}
        order by m.base_asset, t.id desc`,
  );
  return new Map(rows.rows.map((r) => [r.base, BigInt(r.price)]));
}

function assertQuote(all: MarketRules[], quote: string): void {
  if (!all.some((r) => r.quoteAsset === quote)) throw badRequest(`No market is quoted in ${quote}`);
}

/**
 * Balances valued in `quote` at the last trade price of each asset against it;
 * the quote asset counts at par. An asset with no such market or no trade yet has a null value
 * and is left out of the total (listed in `unpriced`).
 */
export async function portfolioSummary(db: Database, userId: string, quote: string) {
  const all = await loadAllMarketRules(db);
  assertQuote(all, quote);
  const prices = await lastPrices(db, quote);
  const quoteDecimals = all.find((r) => r.quoteAsset === quote)!.quoteDecimals;
  let total = 0n;
  const unpriced: string[] = [];
  const balances = (await getBalances(db, userId)).map((b) => {
    const amount = b.available + b.locked;
    let value: bigint | null = null;
    let price: bigint | null = null;
    if (b.asset === quote) value = amount;
    else {
      price = prices.get(b.asset) ?? null;
      if (price !== null) value = (amount * price) / 10n ** BigInt(b.decimals);
    }
    if (value === null) {
      if (amount > 0n) unpriced.push(b.asset);
    } else total += value;
    return {
      asset: b.asset,
      available: formatUnits(b.available, b.decimals),
      locked: formatUnits(b.locked, b.decimals),
      total: formatUnits(amount, b.decimals),
      price: price === null ? null : formatUnits(price, quoteDecimals),
      value: value === null ? null : formatUnits(value, quoteDecimals),
    };
  });
  return { quote_asset: quote, total_value: formatUnits(total, quoteDecimals), balances, unpriced };
}

interface Replayed {
  rules: MarketRules;
  position: Position;
  realizedInPeriod: bigint;
  feesInPeriod: bigint;
  tradesInPeriod: number;
}

/**
 * Replays the user's trades in markets quoted in `quote`, oldest first, into one position per
 * base asset (positions.ts: buys move the average cost, sells realize P&L against it).
 */
async function replayPositions(
  db: Database,
  userId: string,
  quote: string,
  period?: { from: Date; to: Date },
): Promise<Map<string, Replayed>> {
  const all = await loadAllMarketRules(db);
  assertQuote(all, quote);
  const bySymbol = new Map(all.filter((r) => r.quoteAsset === quote).map((r) => [r.symbol, r]));
  const rows = await db
    .select()
    .from(trades)
    .where(or(eq(trades.buyerId, userId), eq(trades.sellerId, userId)))
    .orderBy(asc(trades.id));
  const out = new Map<string, Replayed>();
  for (const t of rows) {
    const rules = bySymbol.get(t.market);
    if (!rules) continue;
    const entry = out.get(rules.baseAsset) ?? {
      rules,
      position: emptyPosition(),
      realizedInPeriod: 0n,
      feesInPeriod: 0n,
      tradesInPeriod: 0,
    };
    // A self-trade (both sides the user) is a buy and a sell: apply both.
    const sides: ("buy" | "sell")[] = [];
    if (t.buyerId === userId) sides.push("buy");
    if (t.sellerId === userId) sides.push("sell");
    for (const side of sides) {
      const fill =
        side === "buy"
          ? { side, base: t.quantity - t.buyerFee, quote: t.quoteAmount }
          : { side, base: t.quantity, quote: t.quoteAmount - t.sellerFee };
      const before = entry.position.realizedPnl;
      entry.position = applyFill(entry.position, fill, rules.baseDecimals);
      const inPeriod = !period || (t.executedAt >= period.from && t.executedAt < period.to);
      if (inPeriod) {
        entry.realizedInPeriod += entry.position.realizedPnl - before;
        // Fees in quote terms: the seller's is quote; the buyer's base fee at the trade price.
        entry.feesInPeriod +=
          side === "sell" ? t.sellerFee : (t.buyerFee * t.price) / 10n ** BigInt(rules.baseDecimals);
        entry.tradesInPeriod++;
      }
    }
    out.set(rules.baseAsset, entry);
  }
  return out;
}

export async function positions(db: Database, userId: string, quote: string) {
  const [replayed, prices] = await Promise.all([replayPositions(db, userId, quote), lastPrices(db, quote)]);
  return {
    quote_asset: quote,
    positions: [...replayed.entries()].map(([asset, { rules, position }]) => {
      const price = prices.get(asset) ?? null;
      const q = (v: bigint) => formatUnits(v, rules.quoteDecimals);
      return {
        asset,
        market: rules.symbol,
        quantity: formatUnits(position.quantity, rules.baseDecimals),
        average_cost: q(averageCost(position)),
        last_price: price === null ? null : q(price),
        market_value: price === null ? null : q(marketValue(position, price, rules.baseDecimals)),
        realized_pnl: q(position.realizedPnl),
        unrealized_pnl: price === null ? null : q(unrealizedPnl(position, price, rules.baseDecimals)),
      };
    }),
  };
}

/** Realized P&L and fees of the trades in [from, to), plus today's unrealized P&L, in `quote`. */
export async function pnl(db: Database, userId: string, quote: string, from: Date, to: Date) {
  if (!(from < to)) throw badRequest("`from` must be before `to`");
  const [replayed, prices] = await Promise.all([
    replayPositions(db, userId, quote, { from, to }),
    lastPrices(db, quote),
  ]);
  let realized = 0n;
  let fees = 0n;
  let unrealized = 0n;
  let count = 0;
  let decimals = 6;
  const perAsset = [...replayed.entries()].map(([asset, r]) => {
    decimals = r.rules.quoteDecimals;
    const price = prices.get(asset);
    const u = price === undefined ? 0n : unrealizedPnl(r.position, price, r.rules.baseDecimals);
    realized += r.realizedInPeriod;
    fees += r.feesInPeriod;
    unrealized += u;
    count += r.tradesInPeriod;
    const q = (v: bigint) => formatUnits(v, r.rules.quoteDecimals);
    return {
      asset,
      realized_pnl: q(r.realizedInPeriod),
      fees: q(r.feesInPeriod),
      trades: r.tradesInPeriod,
      unrealized_pnl: q(u),
    };
  });
  const q = (v: bigint) => formatUnits(v, decimals);
  return {
    quote_asset: quote,
    from: from.toISOString(),
    to: to.toISOString(),
    trades: count,
    realized_pnl: q(realized),
    fees: q(fees),
    unrealized_pnl: q(unrealized),
    assets: perAsset,
  };
}

export async function listWatchlist(db: Database, userId: string) {
  const rows = await db
    .select({ symbol: watchlists.symbol, createdAt: watchlists.createdAt })
    .from(watchlists)
    .where(eq(watchlists.userId, userId))
    .orderBy(desc(watchlists.createdAt), asc(watchlists.symbol));
  return rows.map((r) => ({ symbol: r.symbol, added_at: r.createdAt.toISOString() }));
}

/** Adds a market (idempotent: adding twice keeps one entry). Unknown markets are a 404. */
export async function addToWatchlist(db: Database, userId: string, symbol: string) {
  await loadMarketRules(db, symbol);
  await db.insert(watchlists).values({ userId, symbol }).onConflictDoNothing();
}

export async function removeFromWatchlist(db: Database, userId: string, symbol: string) {
  const removed = await db
    .delete(watchlists)
    .where(and(eq(watchlists.userId, userId), eq(watchlists.symbol, symbol)))
    .returning({ symbol: watchlists.symbol });
  if (removed.length === 0) throw notFound("Watchlist entry");
}
