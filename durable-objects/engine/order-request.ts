import { OrderType, Reject, SelfTrade, Side, TimeInForce, TrailingUnit } from "./codes";
import type { PlaceOrder } from "./types";

/** A validated place command in engine codes; one instance is reused per command (no garbage). */
export class OrderRequest {
  orderId = 0;
  userId = 0;
  side = 0;
  type = 0;
  price = 0;
  quantity = 0;
  quote = 0;
  stopPrice = 0;
  trailOffset = 0;
  bps = false;
  tif = 0;
  postOnly = false;
  stp = 0;
  peak = 0;
}

export interface Limits {
  maxPrice: number;
  maxQuantity: number;
}

const SIDES: Record<string, number> = { buy: Side.BUY, sell: Side.SELL };
const TYPES: Record<string, number> = {
  limit: OrderType.LIMIT,
  market: OrderType.MARKET,
  stop_loss: OrderType.STOP_LOSS,
  stop_limit: OrderType.STOP_LIMIT,
  trailing_stop: OrderType.TRAILING_STOP,
};
const TIFS: Record<string, number> = { GTC: TimeInForce.GTC, IOC: TimeInForce.IOC, FOK: TimeInForce.FOK };
const STPS: Record<string, number> = {
  expire_taker: SelfTrade.EXPIRE_TAKER,
  expire_maker: SelfTrade.EXPIRE_MAKER,
  expire_both: SelfTrade.EXPIRE_BOTH,
};
const UNITS: Record<string, number> = { ticks: TrailingUnit.TICKS, bps: TrailingUnit.BPS };
const MAX_BPS = 9999;

export const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const inRange = (v: unknown, max: number): v is number => isId(v) && v <= max;
const code = (table: Record<string, number>, v: unknown): number =>
  typeof v === "string" && Object.hasOwn(table, v) ? table[v]! : -1;

/**
 * Validates `c` (which may come from an untrusted JSON journal) into `out`.
 * Returns OK (0) or the reject reason. Rules are listed in README.md ("Order types").
 */
export function decodeOrder(c: PlaceOrder, limits: Limits, out: OrderRequest): number {
  if (!isId(c.orderId)) return Reject.INVALID_ORDER_ID;
  if (!isId(c.userId)) return Reject.INVALID_USER_ID;
  const side = code(SIDES, c.side);
  if (side < 0) return Reject.INVALID_SIDE;
  const type = code(TYPES, c.type);
  if (type < 0) return Reject.INVALID_TYPE;
  const stp = c.stp === undefined ? SelfTrade.EXPIRE_TAKER : code(STPS, c.stp);
  if (stp < 0) return Reject.INVALID_SELF_TRADE_MODE;
  const hasLimitPrice = type === OrderType.LIMIT || type === OrderType.STOP_LIMIT;
  const marketLike = !hasLimitPrice;
  const tif =
    c.timeInForce === undefined
      ? marketLike
        ? TimeInForce.IOC
        : TimeInForce.GTC
      : code(TIFS, c.timeInForce);
  if (tif < 0 || (marketLike && tif === TimeInForce.GTC)) return Reject.INVALID_TIME_IN_FORCE;

  if (hasLimitPrice ? !inRange(c.price, limits.maxPrice) : c.price !== undefined) return Reject.INVALID_PRICE;
  const byQuote = c.quoteQuantity !== undefined;
  if (byQuote) {
    if (type !== OrderType.MARKET || side !== Side.BUY || c.quantity !== undefined) {
      return Reject.INVALID_QUOTE_QUANTITY;
    }
    if (!isId(c.quoteQuantity)) return Reject.INVALID_QUOTE_QUANTITY;
    if (tif === TimeInForce.FOK) return Reject.INVALID_TIME_IN_FORCE;
  } else if (!inRange(c.quantity, limits.maxQuantity)) {
    return Reject.INVALID_QUANTITY;
  }
  const isStop = type === OrderType.STOP_LOSS || type === OrderType.STOP_LIMIT;
  if (isStop ? !inRange(c.stopPrice, limits.maxPrice) : c.stopPrice !== undefined)
    return Reject.INVALID_STOP_PRICE;

  const unit = c.trailingUnit === undefined ? TrailingUnit.TICKS : code(UNITS, c.trailingUnit);
  if (type === OrderType.TRAILING_STOP) {
    const max = unit === TrailingUnit.BPS ? MAX_BPS : limits.maxPrice;
    if (unit < 0 || !inRange(c.trailingOffset, max)) return Reject.INVALID_TRAILING_OFFSET;
  } else if (c.trailingOffset !== undefined || c.trailingUnit !== undefined) {
    return Reject.INVALID_TRAILING_OFFSET;
  }

  const postOnly = c.postOnly ?? false;
  if (typeof postOnly !== "boolean") return Reject.INVALID_POST_ONLY;
  if (postOnly && (type !== OrderType.LIMIT || tif !== TimeInForce.GTC)) return Reject.INVALID_POST_ONLY;
  if (c.visibleQuantity !== undefined) {
    if (
      type !== OrderType.LIMIT ||
      tif !== TimeInForce.GTC ||
      !inRange(c.visibleQuantity, c.quantity as number)
    ) {
      return Reject.INVALID_VISIBLE_QUANTITY;
    }
  }

  out.orderId = c.orderId;
  out.userId = c.userId;
  out.side = side;
  out.type = type;
  out.price = hasLimitPrice ? (c.price as number) : 0;
  out.quantity = byQuote ? 0 : (c.quantity as number);
  out.quote = byQuote ? (c.quoteQuantity as number) : 0;
  out.stopPrice = isStop ? (c.stopPrice as number) : 0;
  out.trailOffset = type === OrderType.TRAILING_STOP ? (c.trailingOffset as number) : 0;
  out.bps = unit === TrailingUnit.BPS;
  out.tif = tif;
  out.postOnly = postOnly;
  out.stp = stp;
  out.peak = c.visibleQuantity ?? 0;
  return 0;
}
