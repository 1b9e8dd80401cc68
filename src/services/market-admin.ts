import type { Redis } from "@upstash/redis/cloudflare";
import { eq, inArray } from "drizzle-orm";
import type { BookRules, MarketStatus } from "../domain/market/market-rules";
import { decimalToMinor } from "../domain/market/units";
import {
  percentPriceColumns,
  percentPriceOfView,
  type PercentPriceView,
} from "../domain/market/percent-price";
import { assets, markets } from "../db/schema";
import { AppError, ErrorCode, unprocessable } from "../lib/errors";
import { recordAudit } from "../domain/audit-log";
import type { ServiceContext } from "./auth/context";
import {
  configureOrderBook,
  invalidateMarketCaches,
  readBookRules,
  marketNotFound,
  marketView,
  type MarketView,
} from "./markets";

/** Decimal sizes as an admin sends them (in the assets' units, e.g. tick "0.01" USDT). */
export interface MarketSizes {
  tick_size: string;
  lot_size: string;
  min_quantity: string;
  max_quantity: string;
  min_notional: string;
}

export interface CreateMarketInput extends MarketSizes {
  symbol: string;
  base_asset: string;
  quote_asset: string;
  maker_fee_bps: number;
  taker_fee_bps: number;
  status: MarketStatus;
  /** The percent price filter; null or absent: none. */
  percent_price?: PercentPriceView | null;
  /** The cap on an account's live orders; null or absent: none. */
  max_open_orders?: number | null;
}

export type UpdateMarketInput = Partial<
  MarketSizes & {
    maker_fee_bps: number;
    taker_fee_bps: number;
    status: MarketStatus;
    percent_price: PercentPriceView | null;
    max_open_orders: number | null;
  }
>;

/** The filter an admin asked for: unchanged when absent, off when null. */
function withPercentPrice(rules: BookRules, view: PercentPriceView | null | undefined): BookRules {
  if (view === undefined) return rules;
  if (view === null) return { ...rules, percentPrice: null };
  const rule = percentPriceOfView(view);
  if (typeof rule === "string") throw unprocessable(rule);
  return { ...rules, percentPrice: rule };
}

function minor(value: string, decimals: number, field: string, allowZero = false): string {
  const v = decimalToMinor(value, decimals);
  if (v === null || v < 0n || (v === 0n && !allowZero)) {
    throw unprocessable(`${field} must be a positive amount with at most ${decimals} decimals`);
  }
  return v.toString();
}

/** Applies decimal sizes onto rules, converting with the assets' decimals. */
function withSizes(rules: BookRules, input: Partial<MarketSizes>): BookRules {
  const out = { ...rules };
  if (input.tick_size !== undefined) out.tickSize = minor(input.tick_size, rules.quoteDecimals, "tick_size");
  if (input.lot_size !== undefined) out.lotSize = minor(input.lot_size, rules.baseDecimals, "lot_size");
  if (input.min_quantity !== undefined)
    out.minQuantity = minor(input.min_quantity, rules.baseDecimals, "min_quantity");
  if (input.max_quantity !== undefined)
    out.maxQuantity = minor(input.max_quantity, rules.baseDecimals, "max_quantity");
  if (input.min_notional !== undefined)
    out.minNotional = minor(input.min_notional, rules.quoteDecimals, "min_notional", true);
  if (BigInt(out.maxQuantity) < BigInt(out.minQuantity))
    throw unprocessable("max_quantity is below min_quantity");
  if (BigInt(out.minQuantity) % BigInt(out.lotSize) !== 0n)
    throw unprocessable("min_quantity is not a whole number of lots");
  return out;
}

function columns(r: BookRules) {
  return {
    tickSize: BigInt(r.tickSize),
    lotSize: BigInt(r.lotSize),
    minQuantity: BigInt(r.minQuantity),
    maxQuantity: BigInt(r.maxQuantity),
    minNotional: BigInt(r.minNotional),
    makerFeeBps: r.makerFeeBps,
    takerFeeBps: r.takerFeeBps,
    status: r.status,
    ...percentPriceColumns(r.percentPrice),
    maxOpenOrders: r.maxOpenOrders,
  };
}

/**
 * Creates a market: the row and its audit entry in one transaction, the object configured
 * before the commit (so a refused configuration leaves nothing behind), caches dropped after.
 */
export async function createMarket(
  ctx: ServiceContext,
  redis: Redis,
  actorId: string,
  input: CreateMarketInput,
): Promise<MarketView> {
  const found = await ctx.db
    .select({ code: assets.code, decimals: assets.decimals })
    .from(assets)
    .where(inArray(assets.code, [input.base_asset, input.quote_asset]));
  const decimals = new Map(found.map((a) => [a.code, a.decimals]));
  const baseDecimals = decimals.get(input.base_asset);
  const quoteDecimals = decimals.get(input.quote_asset);
  if (baseDecimals === undefined || quoteDecimals === undefined || input.base_asset === input.quote_asset) {
    throw unprocessable("base_asset and quote_asset must be two different known assets");
  }
  if (input.symbol !== `${input.base_asset}-${input.quote_asset}`) {
    throw unprocessable("symbol must be BASE-QUOTE, e.g. BTC-USDT");
  }
  const sized = withSizes(
    {
      symbol: input.symbol,
      baseAsset: input.base_asset,
      quoteAsset: input.quote_asset,
      baseDecimals,
      quoteDecimals,
      tickSize: "1",
      lotSize: "1",
      minQuantity: "1",
      maxQuantity: "1",
      minNotional: "0",
      makerFeeBps: input.maker_fee_bps,
      takerFeeBps: input.taker_fee_bps,
      status: input.status,
      percentPrice: null,
      maxOpenOrders: input.max_open_orders ?? null,
    },
    input,
  );
  const rules = withPercentPrice(sized, input.percent_price);
  await ctx.db.transaction(async (tx) => {
    const inserted = await tx
      .insert(markets)
      .values({
        symbol: rules.symbol,
        baseAsset: rules.baseAsset,
        quoteAsset: rules.quoteAsset,
        ...columns(rules),
      })
      .onConflictDoNothing()
      .returning({ symbol: markets.symbol });
    if (inserted.length === 0)
      throw new AppError(409, ErrorCode.MARKET_EXISTS, `Market ${rules.symbol} already exists`);
    await recordAudit(tx, {
      actorId,
      actorType: "admin",
      action: "market.create",
      resourceType: "market",
      resourceId: rules.symbol,
      details: { ...marketView(rules) },
      metadata: ctx.metadata,
    });
    await configureOrderBook(ctx.env, rules);
  });
  await invalidateMarketCaches(redis, ctx.log, rules.symbol);
  return marketView(rules);
}

/** Changes status, fees or sizes; the object takes the new rules before the row commits. */
export async function updateMarket(
  ctx: ServiceContext,
  redis: Redis,
  actorId: string,
  symbol: string,
  input: UpdateMarketInput,
): Promise<MarketView> {
  const [current] = await readBookRules(ctx.db, symbol);
  if (!current) throw marketNotFound(symbol);
  const sized = withSizes(
    {
      ...current,
      makerFeeBps: input.maker_fee_bps ?? current.makerFeeBps,
      takerFeeBps: input.taker_fee_bps ?? current.takerFeeBps,
      status: input.status ?? current.status,
      maxOpenOrders: input.max_open_orders === undefined ? current.maxOpenOrders : input.max_open_orders,
    },
    input,
  );
  const rules = withPercentPrice(sized, input.percent_price);
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(markets)
      .set({ ...columns(rules), updatedAt: new Date() })
      .where(eq(markets.symbol, symbol));
    await recordAudit(tx, {
      actorId,
      actorType: "admin",
      action: "market.update",
      resourceType: "market",
      resourceId: symbol,
      details: { changes: { ...input } },
      metadata: ctx.metadata,
    });
    await configureOrderBook(ctx.env, rules);
  });
  await invalidateMarketCaches(redis, ctx.log, symbol);
  return marketView(rules);
}
