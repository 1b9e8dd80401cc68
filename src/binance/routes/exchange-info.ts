import { formatUnits, parseUnits } from "../../lib/money";
import type { MarketView } from "../../services/markets";
import { invalidSymbol } from "../errors";
import { binanceSymbol } from "../symbols";
import { ORDER_LIMITS } from "../order-count";
import { REQUEST_WEIGHT_PER_MINUTE } from "../weights";

/** Engine prices are int32 ticks: the highest price of a market is this many ticks. */
const MAX_TICKS = 2n ** 31n - 1n;
/** Trailing stops in bps (the engine's range, order-request.ts). */
const MAX_TRAILING_BPS = 9_999;

const STATUS = { trading: "TRADING", halted: "HALT", "cancel-only": "BREAK" } as const;

export const ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"];

function symbolInfo(m: MarketView) {
  const tick = parseUnits(m.tick_size, m.price_decimals);
  const maxQty = parseUnits(m.max_quantity, m.quantity_decimals);
  // Nothing larger than the highest price times the largest quantity can be placed.
  const maxNotional = (tick * MAX_TICKS * maxQty) / 10n ** BigInt(m.quantity_decimals);
  return {
    symbol: binanceSymbol(m.symbol),
    status: STATUS[m.status],
    baseAsset: m.base_asset,
    baseAssetPrecision: m.quantity_decimals,
    quoteAsset: m.quote_asset,
    quotePrecision: m.price_decimals,
    quoteAssetPrecision: m.price_decimals,
    baseCommissionPrecision: m.quantity_decimals,
    quoteCommissionPrecision: m.price_decimals,
    orderTypes: ORDER_TYPES,
    icebergAllowed: true,
    ocoAllowed: false,
    otoAllowed: false,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: false,
    amendAllowed: false,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    filters: [
      {
        filterType: "PRICE_FILTER",
        minPrice: m.tick_size,
        maxPrice: formatUnits(tick * MAX_TICKS, m.price_decimals),
        tickSize: m.tick_size,
      },
      { filterType: "LOT_SIZE", minQty: m.min_quantity, maxQty: m.max_quantity, stepSize: m.lot_size },
      { filterType: "MARKET_LOT_SIZE", minQty: m.min_quantity, maxQty: m.max_quantity, stepSize: m.lot_size },
      {
        filterType: "NOTIONAL",
        minNotional: m.min_notional,
        applyMinToMarket: true,
        maxNotional: formatUnits(maxNotional, m.price_decimals),
        applyMaxToMarket: false,
        avgPriceMins: 0,
      },
      {
        filterType: "TRAILING_DELTA",
        minTrailingAboveDelta: 1,
        maxTrailingAboveDelta: MAX_TRAILING_BPS,
        minTrailingBelowDelta: 1,
        maxTrailingBelowDelta: MAX_TRAILING_BPS,
      },
    ],
    permissions: [],
    permissionSets: [["SPOT"]],
    defaultSelfTradePreventionMode: "EXPIRE_TAKER",
    allowedSelfTradePreventionModes: ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
  };
}

/** GET /api/v3/exchangeInfo from the markets' rules; `wanted` names Binance symbols (-1121 if unknown). */
export function exchangeInfo(markets: MarketView[], wanted?: string[]) {
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
      ...ORDER_LIMITS.map((l) => ({
        rateLimitType: "ORDERS",
        interval: l.interval,
        intervalNum: l.intervalNum,
        limit: l.limit,
      })),
    ],
    exchangeFilters: [],
    symbols: chosen.map(symbolInfo),
  };
}
