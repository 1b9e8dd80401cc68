import { and, asc, desc, eq, gte } from "drizzle-orm";
import type { Database } from "../db/client";
import { trades } from "../db/schema";
import { formatUnits } from "../lib/money";
import type { MarketRules } from "../domain/market/market-rules";
import { tradeNumberSql } from "./order-lookups";
import { tradeNumber } from "./views";

/**
 * GET /historicalTrades: a market's trades from Postgres (every trade settlement recorded, where
 * the book keeps only its latest), from trade `fromId` on, or the most recent; oldest first.
 */
export async function historicalTrades(
  db: Database,
  rules: MarketRules,
  q: { fromId?: number; limit: number },
) {
  const market = rules.symbol;
  const inMarket = eq(trades.market, market);
  let rows: (typeof trades.$inferSelect)[];
  if (q.fromId === undefined) {
    rows = await db
      .select()
      .from(trades)
      .where(inMarket)
      .orderBy(desc(trades.executedAt), desc(trades.id))
      .limit(q.limit);
    rows.reverse();
  } else {
    // The first trade's time bounds the scan (the (market, executed_at) index); trade ids
    // follow the book's match order.
    const [first] = await db
      .select({ at: trades.executedAt })
      .from(trades)
      .where(and(inMarket, eq(trades.tradeId, `${market}:${q.fromId}`)));
    rows = await db
      .select()
      .from(trades)
      .where(
        and(inMarket, first ? gte(trades.executedAt, first.at) : undefined, gte(tradeNumberSql(), q.fromId)),
      )
      .orderBy(asc(trades.executedAt), asc(trades.id))
      .limit(q.limit);
  }
  const quote = (v: bigint) => formatUnits(v, rules.quoteDecimals);
  return rows.map((t) => ({
    id: tradeNumber(t.tradeId),
    price: quote(t.price),
    qty: formatUnits(t.quantity, rules.baseDecimals),
    quoteQty: quote(t.quoteAmount),
    time: t.executedAt.getTime(),
    isBuyerMaker: t.takerSide === "sell",
    isBestMatch: true,
  }));
}
