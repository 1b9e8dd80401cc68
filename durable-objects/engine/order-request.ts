import * as codes from "./codes";
import type { PlaceOrder } from "./types";

// Module-level copies of imported values the hot path reads: V8 folds a module's own constants
// into compiled code but loads and checks an imported binding at each use (see matching-engine.ts).
const {
  OrderType,
  Reject,
  SELF_TRADE_NAMES,
  SelfTrade,
  Side,
  TIME_IN_FORCE_NAMES,
  TimeInForce,
  TRAILING_UNIT_NAMES,
  TrailingUnit,
} = codes;

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

// The two names every command sends, to codes (-1 if unknown). Comparisons with string literals
// check interned strings by pointer first, several times faster than an object lookup guarded by
// Object.hasOwn.
function sideCode(v: unknown): number {
  return v === "buy" ? Side.BUY : v === "sell" ? Side.SELL : -1;
}

function typeCode(v: unknown): number {
  switch (v) {
    case "limit":
      return OrderType.LIMIT;
    case "market":
      return OrderType.MARKET;
    case "stop_loss":
      return OrderType.STOP_LOSS;
    case "stop_limit":
      return OrderType.STOP_LIMIT;
    case "trailing_stop":
      return OrderType.TRAILING_STOP;
    default:
      return -1;
  }
}

/** The code of a rarely sent field's name (its index in `names`), -1 if unknown. */
function codeIn(names: readonly string[], v: unknown): number {
  return names.indexOf(v as string);
}

const MAX_BPS = 9999;

export const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
const inRange = (v: unknown, max: number): v is number => isId(v) && v <= max;

/**
 * Validates `c` (which may come from an untrusted JSON journal) into `out`.
 * Returns OK (0) or the reject reason. Rules are listed in README.md ("Order types").
 */
export function decodeOrder(c: PlaceOrder, limits: Limits, out: OrderRequest): number {
  if (!isId(c.orderId)) return Reject.INVALID_ORDER_ID;
  if (!isId(c.userId)) return Reject.INVALID_USER_ID;
  const side = sideCode(c.side);
  if (side < 0) return Reject.INVALID_SIDE;
  const type = typeCode(c.type);
  if (type < 0) return Reject.INVALID_TYPE;
  // Nearly every command is a plain GTC limit or market order by quantity, with no other field:
  // a valid one is decoded here, in a function small enough for the compiler to inline; any
  // other command (or an invalid plain one, for its exact reason) goes through the full rules.
  if (
    c.stp === undefined &&
    c.timeInForce === undefined &&
    c.quoteQuantity === undefined &&
    c.stopPrice === undefined &&
    c.trailingOffset === undefined &&
    c.trailingUnit === undefined &&
    c.postOnly === undefined &&
    c.visibleQuantity === undefined &&
    (type === OrderType.LIMIT
      ? inRange(c.price, limits.maxPrice)
      : type === OrderType.MARKET && c.price === undefined) &&
    inRange(c.quantity, limits.maxQuantity)
  ) {
    out.orderId = c.orderId;
    out.userId = c.userId;
    out.side = side;
    out.type = type;
    out.price = type === OrderType.LIMIT ? (c.price as number) : 0;
    out.quantity = c.quantity;
    out.quote = 0;
    out.stopPrice = 0;
    out.trailOffset = 0;
    out.bps = false;
    out.tif = type === OrderType.LIMIT ? TimeInForce.GTC : TimeInForce.IOC;
    out.postOnly = false;
    out.stp = SelfTrade.EXPIRE_TAKER;
    out.peak = 0;
    return 0;
  }
  return decodeRules(c, limits, out, side, type);
}

/** The full rules of `decodeOrder` once the ids, side and type are valid. */
function decodeRules(c: PlaceOrder, limits: Limits, out: OrderRequest, side: number, type: number): number {
  const stp = c.stp === undefined ? SelfTrade.EXPIRE_TAKER : codeIn(SELF_TRADE_NAMES, c.stp);
  if (stp < 0) return Reject.INVALID_SELF_TRADE_MODE;
  const hasLimitPrice = type === OrderType.LIMIT || type === OrderType.STOP_LIMIT;
  const marketLike = !hasLimitPrice;
  const tif =
    c.timeInForce === undefined
      ? marketLike
        ? TimeInForce.IOC
        : TimeInForce.GTC
      : codeIn(TIME_IN_FORCE_NAMES, c.timeInForce);
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

  const unit =
    c.trailingUnit === undefined ? TrailingUnit.TICKS : codeIn(TRAILING_UNIT_NAMES, c.trailingUnit);
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
