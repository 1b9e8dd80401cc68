// Pandora's shapes (decimal strings, our names) as Binance's JSON. No rule lives here.
import type { CandleView, TradeView } from "../../durable-objects/market/messages";
import { formatUnits, parseUnits } from "../lib/money";
import type { MarketRules } from "../domain/market/market-rules";
import type { FillView, OrderView } from "../domain/market/order-view";
import { binanceSymbol } from "./symbols";

const STATUS: Record<string, string> = {
  pending: "NEW",
  new: "NEW",
  partially_filled: "PARTIALLY_FILLED",
  filled: "FILLED",
  cancelled: "CANCELED",
  expired: "EXPIRED",
  rejected: "REJECTED",
};

const STP: Record<string, string> = {
  expire_taker: "EXPIRE_TAKER",
  expire_maker: "EXPIRE_MAKER",
  expire_both: "EXPIRE_BOTH",
};

/** Binance's order type of one of ours (a trailing stop is Binance's STOP_LOSS with trailingDelta). */
export function binanceType(view: Pick<OrderView, "type" | "post_only">): string {
  if (view.type === "limit") return view.post_only ? "LIMIT_MAKER" : "LIMIT";
  if (view.type === "stop_limit") return "STOP_LOSS_LIMIT";
  if (view.type === "market") return "MARKET";
  return "STOP_LOSS";
}

/** The quote value of base × price, rounded down as settlement rounds a fill. */
export function quoteValue(rules: MarketRules, price: string, quantity: string): bigint {
  return (
    (parseUnits(price, rules.quoteDecimals, { allowZero: true }) *
      parseUnits(quantity, rules.baseDecimals, { allowZero: true })) /
    10n ** BigInt(rules.baseDecimals)
  );
}

const zero = (decimals: number) => formatUnits(0n, decimals);

/**
 * An order as GET /api/v3/order answers it. `number` is its integer `orderId`, `orderListId`
 * its OCO's (order-lookups.ts `orderListIds`) or -1.
 */
export function binanceOrder(view: OrderView, number: number, rules: MarketRules, orderListId = -1) {
  const quote = (v: string | null) => v ?? zero(rules.quoteDecimals);
  const base = (v: string | null) => v ?? zero(rules.baseDecimals);
  const stop = view.type === "stop_loss" || view.type === "stop_limit" || view.type === "trailing_stop";
  const time = Date.parse(view.created_at);
  return {
    symbol: binanceSymbol(view.market),
    orderId: number,
    orderListId,
    clientOrderId: view.client_order_id ?? "",
    price: quote(view.price),
    origQty: base(view.quantity),
    executedQty: view.filled_quantity,
    cummulativeQuoteQty: view.filled_quote,
    status: STATUS[view.status] ?? "NEW",
    timeInForce: view.time_in_force,
    type: binanceType(view),
    side: view.side.toUpperCase(),
    stopPrice: quote(view.stop_price),
    icebergQty: base(view.visible_quantity),
    ...(view.type === "trailing_stop" && view.trailing_offset_unit === "bps"
      ? { trailingDelta: Number(view.trailing_offset) }
      : {}),
    time,
    updateTime: Date.parse(view.updated_at),
    isWorking: !stop || view.status !== "new",
    workingTime: time,
    origQuoteOrderQty: quote(view.quote_quantity),
    selfTradePreventionMode: STP[view.self_trade_prevention] ?? "EXPIRE_TAKER",
  };
}

/** A fill of a placement reply (newOrderRespType FULL). */
export function binanceFill(fill: FillView) {
  return {
    price: fill.price,
    qty: fill.quantity,
    commission: fill.fee,
    commissionAsset: fill.fee_asset,
    tradeId: tradeNumber(fill.trade_id),
  };
}

/** The book's trade id "BTC-USDT:42" as Binance's integer trade id 42 (unique per symbol). */
export const tradeNumber = (tradeId: string): number => Number(tradeId.slice(tradeId.lastIndexOf(":") + 1));

export function binanceTrade(t: TradeView, rules: MarketRules) {
  return {
    id: tradeNumber(t.id),
    price: t.price,
    qty: t.quantity,
    quoteQty: formatUnits(quoteValue(rules, t.price, t.quantity), rules.quoteDecimals),
    time: t.ts,
    isBuyerMaker: t.taker_side === "sell",
    isBestMatch: true,
  };
}

/**
 * A kline row. The candles do not track quote volume or the taker-buy volumes: those columns
 * are "0" (docs/binance-api.md lists the difference).
 */
export function binanceKline(k: CandleView) {
  return [k.open_time, k.open, k.high, k.low, k.close, k.volume, k.close_time, "0", k.trades, "0", "0", "0"];
}

/**
 * A cancelled order as DELETE /order answers it: `clientOrderId` is the cancel's own id
 * (Binance's `newClientOrderId`), `origClientOrderId` the order's.
 */
export function binanceCancel(
  view: OrderView,
  number: number,
  rules: MarketRules,
  cancelClientOrderId: string,
  orderListId = -1,
) {
  const o = binanceOrder(view, number, rules, orderListId);
  const { time: _t, updateTime: _u, isWorking: _w, workingTime: _wt, origQuoteOrderQty: _q, ...rest } = o;
  return {
    ...rest,
    origClientOrderId: o.clientOrderId,
    clientOrderId: cancelClientOrderId,
    transactTime: Date.now(),
  };
}

/** A fee in basis points as Binance's rate: 10 → "0.00100000". */
export const bpsRate = (bps: number): string => formatUnits(BigInt(bps) * 10_000n, 8);

/** Binance's four commission rates; buyer and seller surcharges are always zero here. */
export const commissionRates = (makerBps: number, takerBps: number) => ({
  maker: bpsRate(makerBps),
  taker: bpsRate(takerBps),
  buyer: bpsRate(0),
  seller: bpsRate(0),
});

/** Binance's BNB fee discount, which Pandora never gives (fees come from what a side receives). */
export const noDiscount = () => ({
  enabledForAccount: false,
  enabledForSymbol: false,
  discountAsset: "BNB",
  discount: bpsRate(0),
});
