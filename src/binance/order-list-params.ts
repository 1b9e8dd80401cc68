import { z } from "@hono/zod-openapi";
import { BinanceError, mandatory, orderRejected } from "./binance-errors";
import { ClientOrderId, trimDecimal } from "./order-params";
import { P, SignedParams } from "./params";

const LegType = z.enum(["STOP_LOSS_LIMIT", "STOP_LOSS", "LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]);
type LegType = z.infer<typeof LegType>;
const TimeInForce = z.enum(["GTC", "IOC", "FOK"]);
const RespType = z.enum(["ACK", "RESULT", "FULL"]);
const Stp = z.enum(["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "NONE", "DECREMENT"]);

const leg = <N extends "above" | "below">(n: N) =>
  ({
    [`${n}Type`]: LegType,
    [`${n}ClientOrderId`]: ClientOrderId.optional(),
    [`${n}IcebergQty`]: P.decimal.optional(),
    [`${n}Price`]: P.decimal.optional(),
    [`${n}StopPrice`]: P.decimal.optional(),
    [`${n}TrailingDelta`]: P.int.optional(),
    [`${n}TimeInForce`]: TimeInForce.optional(),
    [`${n}StrategyId`]: P.int.optional(),
    [`${n}StrategyType`]: P.int.optional(),
  }) as Record<`${N}Type`, typeof LegType> &
    Record<`${N}ClientOrderId`, z.ZodOptional<typeof ClientOrderId>> &
    Record<`${N}TimeInForce`, z.ZodOptional<typeof TimeInForce>> &
    Record<
      | `${N}IcebergQty`
      | `${N}Price`
      | `${N}StopPrice`
      | `${N}TrailingDelta`
      | `${N}StrategyId`
      | `${N}StrategyType`,
      z.ZodOptional<z.ZodString>
    >;

/** POST /api/v3/orderList/oco: Binance's current OCO, its legs named by position (above/below the market). */
export const OrderListOcoParams = z
  .object({
    symbol: P.symbol,
    listClientOrderId: ClientOrderId.optional(),
    side: z.enum(["BUY", "SELL"]),
    quantity: P.decimal,
    ...leg("above"),
    ...leg("below"),
    newOrderRespType: RespType.optional(),
    selfTradePreventionMode: Stp.optional(),
  })
  .extend(SignedParams.shape);

/** POST /api/v3/order/oco (deprecated by Binance, still used by older clients): a limit and a stop leg. */
export const LegacyOcoParams = z
  .object({
    symbol: P.symbol,
    listClientOrderId: ClientOrderId.optional(),
    side: z.enum(["BUY", "SELL"]),
    quantity: P.decimal,
    limitClientOrderId: ClientOrderId.optional(),
    price: P.decimal,
    limitIcebergQty: P.decimal.optional(),
    trailingDelta: P.int.optional(),
    stopClientOrderId: ClientOrderId.optional(),
    stopPrice: P.decimal.optional(),
    stopLimitPrice: P.decimal.optional(),
    stopIcebergQty: P.decimal.optional(),
    stopLimitTimeInForce: TimeInForce.optional(),
    newOrderRespType: RespType.optional(),
    selfTradePreventionMode: Stp.optional(),
  })
  .extend(SignedParams.shape);

/**
 * An OCO in Pandora's terms (place-order.ts `type: "oco"`): a GTC limit leg and a stop leg
 * (stop-market, or stop-limit at `stopLimitPrice`) sharing one lock. `clientOrderId` names
 * the list and its limit leg (one client order id is kept per pair).
 */
export interface OcoRequest {
  symbol: string;
  side: "BUY" | "SELL";
  quantity: string;
  price: string;
  stopPrice: string;
  stopLimitPrice?: string;
  clientOrderId?: string;
  newOrderRespType?: "ACK" | "RESULT" | "FULL";
  selfTradePreventionMode?: z.infer<typeof Stp>;
}

const notRequired = (name: string) =>
  new BinanceError(400, -1106, `Parameter '${name}' sent when not required.`);
const unsupported = () => new BinanceError(400, -1014, "Unsupported order combination.");

/** What the engine has no counterpart for in an OCO leg: icebergs and trailing stops. */
function refuseUnsupported(p: Record<string, string | undefined>, names: string[]): void {
  if (names.some((n) => p[n] !== undefined)) throw unsupported();
}

/**
 * The one client order id a pair keeps (its limit leg's): the list's, or the limit leg's, or
 * none (one is generated). A stop leg's own id, or a limit leg's that differs from the list's,
 * cannot be kept and is refused rather than dropped.
 */
function clientIdOf(
  listId: string | undefined,
  limit: [string, string | undefined],
  stop: [string, string | undefined],
) {
  if (stop[1] !== undefined) throw notRequired(stop[0]);
  if (listId !== undefined && limit[1] !== undefined && limit[1] !== listId) throw notRequired(limit[0]);
  return listId ?? limit[1];
}

const isStop = (t: LegType) => t === "STOP_LOSS" || t === "STOP_LOSS_LIMIT";

/** Binance's leg rules by side: a sell's limit above and stop below the market, a buy's the reverse. */
function checkLegs(side: "BUY" | "SELL", above: LegType, below: LegType): void {
  if (above === "LIMIT_MAKER" && below === "LIMIT_MAKER") {
    throw new BinanceError(400, -1168, "At least one OCO order must be contingent.");
  }
  if (side === "SELL") {
    if (isStop(above)) throw new BinanceError(400, -1197, "A stop loss order in a sell OCO must be below.");
    if (below === "LIMIT_MAKER")
      throw new BinanceError(400, -1166, "A limit order in a sell OCO must be above.");
  } else {
    if (isStop(below)) throw new BinanceError(400, -1196, "A stop loss order in a buy OCO must be above.");
    if (above === "LIMIT_MAKER")
      throw new BinanceError(400, -1165, "A limit order in a buy OCO must be below.");
  }
  for (const t of [above, below]) {
    if (t === "TAKE_PROFIT") throw orderRejected("Take profit orders are not supported for this symbol.");
    if (t === "TAKE_PROFIT_LIMIT") {
      throw orderRejected("Take profit limit orders are not supported for this symbol.");
    }
  }
}

/** POST /orderList/oco's parameters as an OcoRequest (Binance's codes for what does not fit). */
export function ocoFromOrderList(p: z.infer<typeof OrderListOcoParams>): OcoRequest {
  checkLegs(p.side, p.aboveType, p.belowType);
  const [limit, stop] = p.side === "SELL" ? (["above", "below"] as const) : (["below", "above"] as const);
  const q = p as unknown as Record<string, string | undefined>;
  refuseUnsupported(q, [
    `${limit}IcebergQty`,
    `${stop}IcebergQty`,
    `${limit}TrailingDelta`,
    `${stop}TrailingDelta`,
  ]);
  const price = q[`${limit}Price`];
  if (price === undefined) throw mandatory(`${limit}Price`);
  if (q[`${limit}StopPrice`] !== undefined) throw notRequired(`${limit}StopPrice`);
  if (q[`${limit}TimeInForce`] !== undefined) throw notRequired(`${limit}TimeInForce`);
  const stopPrice = q[`${stop}StopPrice`];
  if (stopPrice === undefined) throw mandatory(`${stop}StopPrice`);
  const stopLimit = q[`${stop}Type`] === "STOP_LOSS_LIMIT";
  const stopLimitPrice = q[`${stop}Price`];
  if (stopLimit) {
    if (stopLimitPrice === undefined) throw mandatory(`${stop}Price`);
    const tif = q[`${stop}TimeInForce`];
    if (tif === undefined) throw mandatory(`${stop}TimeInForce`);
    if (tif !== "GTC") throw unsupported();
  } else {
    if (stopLimitPrice !== undefined) throw notRequired(`${stop}Price`);
    if (q[`${stop}TimeInForce`] !== undefined) throw notRequired(`${stop}TimeInForce`);
  }
  return {
    symbol: p.symbol,
    side: p.side,
    quantity: trimDecimal(p.quantity),
    price: trimDecimal(price),
    stopPrice: trimDecimal(stopPrice),
    ...(stopLimit ? { stopLimitPrice: trimDecimal(stopLimitPrice!) } : {}),
    clientOrderId: clientIdOf(
      p.listClientOrderId,
      [`${limit}ClientOrderId`, q[`${limit}ClientOrderId`]],
      [`${stop}ClientOrderId`, q[`${stop}ClientOrderId`]],
    ),
    newOrderRespType: p.newOrderRespType,
    selfTradePreventionMode: p.selfTradePreventionMode,
  };
}

/** POST /order/oco's parameters as an OcoRequest. */
export function ocoFromLegacy(p: z.infer<typeof LegacyOcoParams>): OcoRequest {
  refuseUnsupported(p, ["limitIcebergQty", "stopIcebergQty", "trailingDelta"]);
  if (p.stopPrice === undefined) throw mandatory("stopPrice");
  if (p.stopLimitPrice !== undefined && p.stopLimitTimeInForce === undefined) {
    throw mandatory("stopLimitTimeInForce");
  }
  if (p.stopLimitPrice === undefined && p.stopLimitTimeInForce !== undefined) {
    throw notRequired("stopLimitTimeInForce");
  }
  if (p.stopLimitTimeInForce !== undefined && p.stopLimitTimeInForce !== "GTC") throw unsupported();
  return {
    symbol: p.symbol,
    side: p.side,
    quantity: trimDecimal(p.quantity),
    price: trimDecimal(p.price),
    stopPrice: trimDecimal(p.stopPrice),
    ...(p.stopLimitPrice !== undefined ? { stopLimitPrice: trimDecimal(p.stopLimitPrice) } : {}),
    clientOrderId: clientIdOf(
      p.listClientOrderId,
      ["limitClientOrderId", p.limitClientOrderId],
      ["stopClientOrderId", p.stopClientOrderId],
    ),
    newOrderRespType: p.newOrderRespType,
    selfTradePreventionMode: p.selfTradePreventionMode,
  };
}

/** GET /orderList: by `orderListId` or `origClientOrderId`. */
export const OrderListRefParams = z
  .object({ orderListId: P.int.optional(), origClientOrderId: ClientOrderId.optional() })
  .extend(SignedParams.shape);

/** DELETE /orderList: in `symbol`, by `orderListId` or `listClientOrderId`. */
export const CancelOrderListParams = z
  .object({
    symbol: P.symbol,
    orderListId: P.int.optional(),
    listClientOrderId: ClientOrderId.optional(),
    newClientOrderId: ClientOrderId.optional(),
  })
  .extend(SignedParams.shape);

/** GET /allOrderList. */
export const OrderListHistoryParams = z
  .object({
    fromId: P.int.optional(),
    startTime: P.int.optional(),
    endTime: P.int.optional(),
    limit: P.limit(1000).optional(),
  })
  .extend(SignedParams.shape);
