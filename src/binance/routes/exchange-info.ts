import { MAX_ICEBERG_PARTS } from "../../domain/iceberg-parts";
import { placesOf } from "../../domain/market/units";
import { formatUnits } from "../../lib/money";
import type { MarketRules } from "../../domain/market/market-rules";
import { invalidSymbol } from "../binance-errors";
import { binanceSymbol } from "../symbols";
import type { OrderLimits } from "../../domain/market/order-limits";
import type { OrderCounts } from "../order-count";
import { REQUEST_WEIGHT_PER_MINUTE } from "../weights";
import { percentPriceView } from "../../domain/market/percent-price";

/** Engine prices are int32 ticks: the highest price of a market is this many ticks. */
const MAX_TICKS = 2n ** 31n - 1n;
/** Trailing stops in bps (the engine's range, order-request.ts). */
const MAX_TRAILING_BPS = 9_999;

const STATUS = { trading: "TRADING", halted: "HALT", "cancel-only": "BREAK" } as const;

export const ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"];

/** PERCENT_PRICE_BY_SIDE when the market sets one; `avgPriceMins: 0`: against the last price. */
function percentPriceFilter(m: MarketRules) {
  const v = percentPriceView(m.percentPrice);
  if (!v) return [];
  return [
    {
      filterType: "PERCENT_PRICE_BY_SIDE",
      bidMultiplierUp: v.bid_multiplier_up,
      bidMultiplierDown: v.bid_multiplier_down,
      askMultiplierUp: v.ask_multiplier_up,
      askMultiplierDown: v.ask_multiplier_down,
      avgPriceMins: 0,
    },
  ];
}

function symbolInfo(m: MarketRules) {
  const price = (v: bigint) => formatUnits(v, m.quoteDecimals);
  const qty = (v: bigint) => formatUnits(v, m.baseDecimals);
  // Nothing larger than the highest price times the largest quantity can be placed.
  const maxNotional = (m.tickSize * MAX_TICKS * m.maxQuantity) / 10n ** BigInt(m.baseDecimals);
  const pricePlaces = placesOf(m.tickSize, m.quoteDecimals);
  const qtyPlaces = placesOf(m.lotSize, m.baseDecimals);
  return {
    symbol: binanceSymbol(m.symbol),
    status: STATUS[m.status],
    baseAsset: m.baseAsset,
    baseAssetPrecision: qtyPlaces,
    quoteAsset: m.quoteAsset,
    quotePrecision: pricePlaces,
    quoteAssetPrecision: pricePlaces,
    baseCommissionPrecision: m.baseDecimals,
    quoteCommissionPrecision: m.quoteDecimals,
    orderTypes: ORDER_TYPES,
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: price(m.tickSize),
        maxPrice: price(m.tickSize * MAX_TICKS),
        tickSize: price(m.tickSize),
      },
      {
        filterType: "LOT_SIZE",
        minQty: qty(m.minQuantity),
        maxQty: qty(m.maxQuantity),
        stepSize: qty(m.lotSize),
      },
      {
        filterType: "MARKET_LOT_SIZE",
        minQty: qty(m.minQuantity),
        maxQty: qty(m.maxQuantity),
        stepSize: qty(m.lotSize),
      },
      {
        filterType: "NOTIONAL",
        minNotional: price(m.minNotional),
        applyMinToMarket: true,
        maxNotional: price(maxNotional),
        applyMaxToMarket: false,
        avgPriceMins: 0,
      },
      { filterType: "ICEBERG_PARTS", limit: MAX_ICEBERG_PARTS },
      {
        filterType: "TRAILING_DELTA",
        minTrailingAboveDelta: 1,
        maxTrailingAboveDelta: MAX_TRAILING_BPS,
        minTrailingBelowDelta: 1,
        maxTrailingBelowDelta: MAX_TRAILING_BPS,
      },
      ...percentPriceFilter(m),
      // Binance's MAX_NUM_ORDERS counts an account's open orders on the symbol, stops included.
      ...(m.maxOpenOrders === null ? [] : [{ filterType: "MAX_NUM_ORDERS", maxNumOrders: m.maxOpenOrders }]),
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: "EXPIRE_TAKER",
    allowedSelfTradePreventionModes: ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
  };
}

/** The order-entry limits (domain/order-limits.ts) as Binance's ORDERS rate limits, with counts when known. */
export const orderLimitsOf = (limits: OrderLimits, counts?: OrderCounts) => [
  {
    rateLimitType: "ORDERS",
    interval: "SECOND",
    intervalNum: 10,
    limit: limits.per10s,
    ...(counts ? { count: counts.tenSeconds } : {}),
  },
  {
    rateLimitType: "ORDERS",
    interval: "DAY",
    intervalNum: 1,
    limit: limits.perDay,
    ...(counts ? { count: counts.day } : {}),
  },
];

/** GET /api/v3/exchangeInfo from the markets' rules; `wanted` names Binance symbols (-1121 if unknown). */
export function exchangeInfo(markets: MarketRules[], limits: OrderLimits, wanted?: string[]) {
  const bySymbol = new Map(markets.map((m) => [binanceSymbol(m.symbol), m]));
  const chosen = wanted
    ? wanted.map((s) => {
        const m = bySymbol.get(s);
        if (!m) throw invalidSymbol();
        return m;
      })
    : markets;
  return {
    timezone: "UTC",
    serverTime: Date.now(),
    rateLimits: [
      {
        rateLimitType: "REQUEST_WEIGHT",
        interval: "MINUTE",
        intervalNum: 1,
        limit: REQUEST_WEIGHT_PER_MINUTE,
      },
      ...orderLimitsOf(limits),
    ],
    exchangeFilters: [],
    symbols: chosen.map(symbolInfo),
  };
}
