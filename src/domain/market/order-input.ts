import type { PlaceOrder } from "../../../durable-objects/engine";
import { AppError, ErrorCode, unprocessable, type ErrorCodeValue } from "../../lib/errors";
import { MoneyError, parseUnits } from "../../lib/money";
import { checkIcebergParts } from "../iceberg-parts";
import { Memo } from "./amount-format";
import { quoteAmount, quoteScale, unitsWithin, type MarketRules } from "./market-rules";

export type OrderSide = "buy" | "sell";
export type OrderType = "limit" | "market" | "stop_loss" | "stop_limit" | "trailing_stop";
export type TimeInForce = "GTC" | "IOC" | "FOK";
export type SelfTradePrevention = "expire_taker" | "expire_maker" | "expire_both";

/** An order as the API receives it (SPEC "REST shapes"): every amount a decimal string. */
export interface OrderInput {
  side: OrderSide;
  type: OrderType;
  quantity?: string;
  quote_quantity?: string;
  price?: string;
  stop_price?: string;
  trailing_offset?: string;
  trailing_offset_unit?: "ticks" | "bps";
  time_in_force?: TimeInForce;
  post_only?: boolean;
  self_trade_prevention?: SelfTradePrevention;
  visible_quantity?: string;
}

/** The funds an order can consume, locked in the ledger before the order book sees it. */
export interface FundsLock {
  asset: string;
  amount: bigint;
}

/** The engine's place command without the ids the order book assigns. */
export type EngineOrder = Omit<PlaceOrder, "orderId" | "userId">;

/** A validated order: amounts in minor units, its engine command, and what it locks. */
export interface PreparedOrder {
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  postOnly: boolean;
  selfTradePrevention: SelfTradePrevention;
  /** Limit price in quote minor units (limit, stop_limit). */
  price: bigint | null;
  stopPrice: bigint | null;
  /** Base minor units; null for a market buy by quote amount. */
  quantity: bigint | null;
  /** Quote minor units, market buy by quote only. */
  quoteQuantity: bigint | null;
  visibleQuantity: bigint | null;
  trailingOffset: number | null;
  trailingOffsetUnit: "ticks" | "bps" | null;
  engine: EngineOrder;
  lock: FundsLock;
}

/** Engine prices are int32 ticks. */
const MAX_TICKS = 2 ** 31 - 1;
/** Trailing offsets in bps are below 100 %. */
const MAX_TRAILING_BPS = 9_999;

const reject = (code: ErrorCodeValue, message: string, field?: string) =>
  unprocessable(message, code, field ? { field } : undefined);

function minorUnits(value: string, decimals: number, field: string, code: ErrorCodeValue): bigint {
  try {
    return parseUnits(value, decimals);
  } catch (err) {
    if (err instanceof MoneyError) throw reject(code, `${field}: ${err.message}`, field);
    throw err;
  }
}

type Ticks = { readonly minor: bigint; readonly ticks: number };
type Lots = { readonly minor: bigint; readonly lots: number };

/**
 * What a market's prices and quantities converted to, memoised per rules object: orders repeat
 * the same few values (prices near the mid, round quantities), and each conversion is a regex,
 * a BigInt parse and divisions. Only conversions that passed are kept (a refusal is rechecked,
 * with its field's name). A memo is started over if the values it depends on differ.
 */
interface GridMemo {
  readonly rules: MarketRules;
  readonly quoteDecimals: number;
  readonly tickSize: bigint;
  readonly baseDecimals: number;
  readonly lotSize: bigint;
  readonly minQuantity: bigint;
  readonly maxQuantity: bigint;
  readonly prices: Memo<string, Ticks>;
  readonly quantities: Memo<string, Lots>;
}
const gridMemos = new WeakMap<MarketRules, GridMemo>();
/** The memo used last: a placement asks twice, and a market's object only ever asks of its rules. */
let lastMemo: GridMemo | undefined;

const current = (m: GridMemo | undefined, r: MarketRules): m is GridMemo =>
  m !== undefined &&
  m.quoteDecimals === r.quoteDecimals &&
  m.tickSize === r.tickSize &&
  m.baseDecimals === r.baseDecimals &&
  m.lotSize === r.lotSize &&
  m.minQuantity === r.minQuantity &&
  m.maxQuantity === r.maxQuantity;

function gridMemo(rules: MarketRules): GridMemo {
  const memo = lastMemo?.rules === rules ? lastMemo : gridMemos.get(rules);
  if (current(memo, rules)) return (lastMemo = memo);
  const { quoteDecimals, tickSize, baseDecimals, lotSize, minQuantity, maxQuantity } = rules;
  const fresh: GridMemo = {
    rules,
    quoteDecimals,
    tickSize,
    baseDecimals,
    lotSize,
    minQuantity,
    maxQuantity,
    prices: new Memo(),
    quantities: new Memo(),
  };
  gridMemos.set(rules, fresh);
  return (lastMemo = fresh);
}

/** A price in ticks: on the tick grid and within the engine's range. */
function priceTicks(rules: MarketRules, value: string, field: string): Ticks {
  const prices = gridMemo(rules).prices;
  return prices.peek(value) ?? prices.keep(value, convertPrice(rules, value, field));
}

function convertPrice(rules: MarketRules, value: string, field: string): Ticks {
  const minor = minorUnits(value, rules.quoteDecimals, field, ErrorCode.INVALID_PRICE);
  if (minor % rules.tickSize !== 0n) {
    throw reject(ErrorCode.INVALID_TICK, `${field} must be a multiple of the tick size`, field);
  }
  const ticks = minor / rules.tickSize;
  if (ticks > BigInt(MAX_TICKS)) throw reject(ErrorCode.PRICE_OUT_OF_RANGE, `${field} is too high`, field);
  return { minor, ticks: Number(ticks) };
}

/** A base quantity in lots: on the lot grid and within the market's min and max. */
function quantityLots(rules: MarketRules, value: string, field: string, bounds = true): Lots {
  if (!bounds) return convertQuantity(rules, value, field, false);
  const quantities = gridMemo(rules).quantities;
  return quantities.peek(value) ?? quantities.keep(value, convertQuantity(rules, value, field, true));
}

function convertQuantity(rules: MarketRules, value: string, field: string, bounds: boolean): Lots {
  const minor = minorUnits(value, rules.baseDecimals, field, ErrorCode.INVALID_QUANTITY);
  if (minor % rules.lotSize !== 0n) {
    throw reject(ErrorCode.INVALID_LOT, `${field} must be a multiple of the lot size`, field);
  }
  if (bounds && minor < rules.minQuantity) {
    throw reject(ErrorCode.QUANTITY_TOO_SMALL, `${field} is below the market's minimum`, field);
  }
  if ((bounds && minor > rules.maxQuantity) || minor / rules.lotSize > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw reject(ErrorCode.QUANTITY_TOO_LARGE, `${field} is above the market's maximum`, field);
  }
  return { minor, lots: Number(minor / rules.lotSize) };
}

function checkNotional(rules: MarketRules, ticks: number, lots: number): void {
  const notional = quoteAmount(quoteScale(rules), BigInt(ticks) * BigInt(lots));
  if (notional < rules.minNotional) {
    throw reject(ErrorCode.NOTIONAL_TOO_SMALL, "price × quantity is below the market's minimum notional");
  }
}

const invalidOrder = (message: string) => reject(ErrorCode.INVALID_ORDER, message);

/** For fixed messages; a message naming values is built only on refusal (`if (…) throw invalidOrder(…)`). */
function invalid(condition: boolean, message: string): void {
  if (condition) throw invalidOrder(message);
}

/** The quote a buy of `lots` at up to `ticks` can spend, rounded up: its lock. */
export function buyLock(rules: MarketRules, ticks: number, lots: number): bigint {
  return quoteAmount(quoteScale(rules), BigInt(ticks) * BigInt(lots), "ceil");
}

/**
 * Validates an order against the market's rules and converts it to engine units, with a
 * distinct error code per rule. What it locks:
 * - a buy with a limit price (limit, stop_limit): price × quantity, rounded up. No fee: a
 *   party's fee is taken from the asset it receives (base for a buyer), see `settleFill`;
 * - a market buy by quote amount: that amount (the engine's budget is the largest number of
 *   notional units it covers);
 * - any sell: the base quantity.
 * A buy with no price bound (market by base quantity, stop_loss, trailing_stop) could consume
 * any amount of quote, so it is refused with UNBOUNDED_BUY; use a quote amount or a stop_limit.
 * Min notional is checked wherever a price is known (limit prices, quote amounts).
 */
/** Halted and cancel-only markets accept no new order and no amendment (409). */
export function assertTrading(rules: MarketRules, what = "no new order"): void {
  if (rules.status !== "trading") {
    const code = rules.status === "halted" ? ErrorCode.MARKET_HALTED : ErrorCode.MARKET_CANCEL_ONLY;
    throw new AppError(409, code, `Market ${rules.symbol} is ${rules.status}: it accepts ${what}`);
  }
}

export function prepareOrder(rules: MarketRules, input: OrderInput): PreparedOrder {
  assertTrading(rules);
  const { side, type } = input;
  const buy = side === "buy";
  const hasLimitPrice = type === "limit" || type === "stop_limit";
  const marketLike = !hasLimitPrice;
  const isStop = type === "stop_loss" || type === "stop_limit";
  const timeInForce: TimeInForce = input.time_in_force ?? (marketLike ? "IOC" : "GTC");
  const postOnly = input.post_only ?? false;
  const byQuote = input.quote_quantity !== undefined;

  if (hasLimitPrice !== (input.price !== undefined)) {
    throw invalidOrder(`price is ${hasLimitPrice ? "required" : "not allowed"} for a ${type} order`);
  }
  if (isStop !== (input.stop_price !== undefined)) {
    throw invalidOrder(`stop_price is ${isStop ? "required" : "not allowed"} for a ${type} order`);
  }
  if ((type === "trailing_stop") !== (input.trailing_offset !== undefined)) {
    const needed = type === "trailing_stop" ? "required" : "not allowed";
    throw invalidOrder(`trailing_offset is ${needed} for a ${type} order`);
  }
  invalid(
    type !== "trailing_stop" && input.trailing_offset_unit !== undefined,
    "trailing_offset_unit is for trailing_stop orders",
  );
  invalid(byQuote && (type !== "market" || !buy), "quote_quantity is for market buys only");
  invalid(
    byQuote === (input.quantity !== undefined),
    byQuote ? "give quantity or quote_quantity, not both" : "quantity is required",
  );
  if (marketLike && timeInForce === "GTC") {
    throw invalidOrder(`a ${type} order cannot rest: time_in_force must be IOC or FOK`);
  }
  invalid(byQuote && timeInForce === "FOK", "a market buy by quote amount cannot be FOK");
  invalid(postOnly && (type !== "limit" || timeInForce !== "GTC"), "post_only is for GTC limit orders");
  invalid(
    input.visible_quantity !== undefined && (type !== "limit" || timeInForce !== "GTC"),
    "visible_quantity (iceberg) is for GTC limit orders",
  );
  if (buy && marketLike && !byQuote) {
    throw reject(
      ErrorCode.UNBOUNDED_BUY,
      `a ${type} buy has no price bound, so the funds it needs cannot be locked: use quote_quantity or a stop_limit`,
    );
  }

  const engine: EngineOrder = {
    side,
    type,
    timeInForce,
    postOnly,
    stp: input.self_trade_prevention ?? "expire_taker",
  };
  const price = hasLimitPrice ? priceTicks(rules, input.price!, "price") : null;
  const stop = isStop ? priceTicks(rules, input.stop_price!, "stop_price") : null;
  if (price) engine.price = price.ticks;
  if (stop) engine.stopPrice = stop.ticks;

  let quantity: Lots | null = null;
  let quoteQuantity: bigint | null = null;
  let lock: FundsLock;
  if (byQuote) {
    quoteQuantity = minorUnits(
      input.quote_quantity!,
      rules.quoteDecimals,
      "quote_quantity",
      ErrorCode.INVALID_QUANTITY,
    );
    if (quoteQuantity < rules.minNotional) {
      throw reject(
        ErrorCode.NOTIONAL_TOO_SMALL,
        "quote_quantity is below the market's minimum notional",
        "quote_quantity",
      );
    }
    const units = unitsWithin(quoteScale(rules), quoteQuantity);
    if (units > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw reject(ErrorCode.QUANTITY_TOO_LARGE, "quote_quantity is too large", "quote_quantity");
    }
    engine.quoteQuantity = Number(units);
    lock = { asset: rules.quoteAsset, amount: quoteQuantity };
  } else {
    quantity = quantityLots(rules, input.quantity!, "quantity");
    engine.quantity = quantity.lots;
    if (price) checkNotional(rules, price.ticks, quantity.lots);
    lock = buy
      ? { asset: rules.quoteAsset, amount: buyLock(rules, price!.ticks, quantity.lots) }
      : { asset: rules.baseAsset, amount: quantity.minor };
  }

  let visibleQuantity: bigint | null = null;
  if (input.visible_quantity !== undefined) {
    const visible = quantityLots(rules, input.visible_quantity, "visible_quantity", false);
    invalid(
      visible.lots === 0 || visible.lots > quantity!.lots,
      "visible_quantity must be between one lot and quantity",
    );
    checkIcebergParts(quantity!.lots, visible.lots);
    engine.visibleQuantity = visible.lots;
    visibleQuantity = visible.minor;
  }

  let trailingOffset: number | null = null;
  if (type === "trailing_stop") {
    const unit = input.trailing_offset_unit ?? "ticks";
    const offset = /^[1-9]\d{0,9}$/.test(input.trailing_offset!) ? Number(input.trailing_offset) : 0;
    invalid(
      offset === 0 || offset > (unit === "bps" ? MAX_TRAILING_BPS : MAX_TICKS),
      `trailing_offset must be a positive whole number of ${unit}${unit === "bps" ? " below 10000" : ""}`,
    );
    engine.trailingOffset = offset;
    engine.trailingUnit = unit;
    trailingOffset = offset;
  }

  return {
    side,
    type,
    timeInForce,
    postOnly,
    selfTradePrevention: engine.stp!,
    price: price?.minor ?? null,
    stopPrice: stop?.minor ?? null,
    quantity: quantity?.minor ?? null,
    quoteQuantity,
    visibleQuantity,
    trailingOffset,
    trailingOffsetUnit: type === "trailing_stop" ? (engine.trailingUnit ?? "ticks") : null,
    engine,
    lock,
  };
}

/** An OCO as the API receives it (`type: "oco"`). */
export interface OcoInput {
  side: OrderSide;
  quantity?: string;
  /** The limit leg's price. */
  price?: string;
  /** The stop leg's trigger. */
  stop_price?: string;
  /** When given the stop leg is a stop_limit at this price, otherwise a stop_loss (market). */
  stop_limit_price?: string;
  self_trade_prevention?: SelfTradePrevention;
  quote_quantity?: string;
  trailing_offset?: string;
  trailing_offset_unit?: "ticks" | "bps";
  time_in_force?: TimeInForce;
  post_only?: boolean;
  visible_quantity?: string;
}

/** Both legs of a validated OCO and the one lock the pair holds. */
export interface PreparedOco {
  limit: PreparedOrder;
  stop: PreparedOrder;
  lock: FundsLock;
}

/**
 * Validates an OCO (Binance's shape in our names): a GTC limit leg at `price` and a stop leg
 * triggered at `stop_price` (a stop_limit at `stop_limit_price`, or a stop-market), same side and
 * quantity. A sell's limit price must be above its stop price, a buy's below. Each leg is
 * checked like a single order (tick, lot, min/max quantity, min notional).
 *
 * The pair locks once, since at most one leg ever trades: a sell its base quantity; a buy the
 * larger of its legs' needs (price × quantity of each, rounded up). A buy stop leg needs
 * `stop_limit_price`: a stop-market buy has no price bound (UNBOUNDED_BUY).
 */
export function prepareOco(rules: MarketRules, input: OcoInput): PreparedOco {
  assertTrading(rules);
  for (const field of [
    "quote_quantity",
    "trailing_offset",
    "trailing_offset_unit",
    "time_in_force",
    "post_only",
    "visible_quantity",
  ] as const) {
    invalid(input[field] !== undefined, `${field} is not allowed for an oco order`);
  }
  invalid(input.price === undefined, "price (the limit leg's) is required for an oco order");
  invalid(input.stop_price === undefined, "stop_price is required for an oco order");
  invalid(input.quantity === undefined, "quantity is required");
  const buy = input.side === "buy";
  if (buy && input.stop_limit_price === undefined) {
    throw reject(
      ErrorCode.UNBOUNDED_BUY,
      "the stop leg of a buy oco has no price bound: give stop_limit_price",
      "stop_limit_price",
    );
  }
  const common = {
    side: input.side,
    quantity: input.quantity,
    self_trade_prevention: input.self_trade_prevention,
  };
  const limit = prepareOrder(rules, { ...common, type: "limit", price: input.price });
  const stop = prepareOrder(
    rules,
    input.stop_limit_price === undefined
      ? { ...common, type: "stop_loss", stop_price: input.stop_price }
      : { ...common, type: "stop_limit", stop_price: input.stop_price, price: input.stop_limit_price },
  );
  invalid(
    buy ? limit.price! >= stop.stopPrice! : limit.price! <= stop.stopPrice!,
    buy
      ? "a buy oco's limit price must be below its stop price"
      : "a sell oco's limit price must be above its stop price",
  );
  const lock: FundsLock = buy
    ? {
        asset: rules.quoteAsset,
        amount: limit.lock.amount > stop.lock.amount ? limit.lock.amount : stop.lock.amount,
      }
    : limit.lock;
  return { limit, stop, lock };
}

/** A validated amendment: the new limit price and total quantity, in minor units and engine units. */
export interface PreparedAmend {
  price: bigint;
  priceTicks: number;
  quantity: bigint;
  lots: number;
}

/**
 * Validates an amendment like a placement: the new price on the tick grid, the new total
 * quantity (filled part included) on the lot grid within the market's min and max, and
 * price × quantity at least the min notional. Omitted fields keep the order's current values.
 */
export function prepareAmend(
  rules: MarketRules,
  current: { price: bigint; quantity: bigint; filled: bigint },
  input: { price?: string; quantity?: string },
): PreparedAmend {
  assertTrading(rules, "no amendment");
  invalid(input.price === undefined && input.quantity === undefined, "give a new price and/or quantity");
  const price =
    input.price === undefined
      ? { minor: current.price, ticks: Number(current.price / rules.tickSize) }
      : priceTicks(rules, input.price, "price");
  const quantity =
    input.quantity === undefined
      ? { minor: current.quantity, lots: Number(current.quantity / rules.lotSize) }
      : quantityLots(rules, input.quantity, "quantity");
  if (quantity.minor <= current.filled) {
    throw reject(
      ErrorCode.INVALID_QUANTITY,
      "quantity (the new total) must be above the quantity already filled",
      "quantity",
    );
  }
  checkNotional(rules, price.ticks, quantity.lots);
  return { price: price.minor, priceTicks: price.ticks, quantity: quantity.minor, lots: quantity.lots };
}
