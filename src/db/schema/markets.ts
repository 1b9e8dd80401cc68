import { sql } from "drizzle-orm";
import { check, integer, pgEnum, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, minorUnits, updatedAt } from "./columns";

export const assetStatus = pgEnum("asset_status", ["active", "disabled"]);
/** The blockchain an asset moves on (ERC-20 tokens are "ethereum"); null: no on-chain transfers. */
export const chain = pgEnum("chain", ["bitcoin", "ethereum"]);
export const marketStatus = pgEnum("market_status", ["trading", "halted", "cancel-only"]);

export const assets = pgTable(
  "assets",
  {
    code: text("code").primaryKey(),
    name: text("name").notNull(),
    decimals: integer("decimals").notNull(),
    chain: chain("chain"),
    confirmations: integer("confirmations").notNull(),
    withdrawalFee: minorUnits("withdrawal_fee").notNull(),
    minWithdrawal: minorUnits("min_withdrawal").notNull(),
    status: assetStatus("status").notNull().default("active"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("assets_decimals_range", sql`${t.decimals} between 0 and 18`),
    check("assets_code_format", sql`${t.code} ~ '^[A-Z0-9]{2,10}$'`),
  ],
);

/**
 * A trading pair. Tick and lot are in the quote's and the base's minor units, so the engine's
 * integer ticks and lots map exactly onto ledger amounts.
 */
export const markets = pgTable(
  "markets",
  {
    symbol: text("symbol").primaryKey(),
    baseAsset: text("base_asset")
      .notNull()
      .references(() => assets.code),
    quoteAsset: text("quote_asset")
      .notNull()
      .references(() => assets.code),
    tickSize: minorUnits("tick_size").notNull(),
    lotSize: minorUnits("lot_size").notNull(),
    minQuantity: minorUnits("min_quantity").notNull(),
    maxQuantity: minorUnits("max_quantity").notNull(),
    minNotional: minorUnits("min_notional").notNull(),
    makerFeeBps: integer("maker_fee_bps").notNull(),
    takerFeeBps: integer("taker_fee_bps").notNull(),
    status: marketStatus("status").notNull().default("trading"),
    // The percent price filter (src/domain/market/percent-price.ts): all four or none.
    percentPriceBidUpBps: integer("percent_price_bid_up_bps"),
    percentPriceBidDownBps: integer("percent_price_bid_down_bps"),
    percentPriceAskUpBps: integer("percent_price_ask_up_bps"),
    percentPriceAskDownBps: integer("percent_price_ask_down_bps"),
    /** At most this many live orders per account in this market (Binance's MAX_NUM_ORDERS); null: no cap. */
    maxOpenOrders: integer("max_open_orders"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("markets_positive_sizes", sql`${t.tickSize} > 0 and ${t.lotSize} > 0 and ${t.minQuantity} > 0`),
    check("markets_quantity_range", sql`${t.maxQuantity} >= ${t.minQuantity}`),
    check(
      "markets_fee_range",
      sql`${t.makerFeeBps} between 0 and 1000 and ${t.takerFeeBps} between 0 and 1000`,
    ),
    check("markets_max_open_orders", sql`${t.maxOpenOrders} between 1 and 100000`),
    check(
      "markets_percent_price",
      sql`(${t.percentPriceBidUpBps} is null and ${t.percentPriceBidDownBps} is null and ${t.percentPriceAskUpBps} is null and ${t.percentPriceAskDownBps} is null)
        or (${t.percentPriceBidUpBps} between 10000 and 1000000 and ${t.percentPriceAskUpBps} between 10000 and 1000000
          and ${t.percentPriceBidDownBps} between 1 and 10000 and ${t.percentPriceAskDownBps} between 1 and 10000)`,
    ),
  ],
);
