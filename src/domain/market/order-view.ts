import type { InferSelectModel } from "drizzle-orm";
import type { orders, trades } from "../../db/schema";
import { formatUnits, parseUnits } from "../../lib/money";
import { isoTime, memoFor, printAmount, type Memo } from "./amount-format";
import type { MarketRules } from "./market-rules";
import { settleFill } from "../settlement/fills";

export type OrderRow = InferSelectModel<typeof orders>;
/** A row as the Worker builds it before Postgres gave it its `number` (the placement reply). */
export type UnnumberedOrderRow = Omit<OrderRow, "number">;
export type TradeRow = InferSelectModel<typeof trades>;
/** What `toOrderView` reads of a row: a listing selects only these (order-queries.ts' `ORDER_VIEW_COLUMNS`). */
export type OrderViewRow = Omit<UnnumberedOrderRow, "userId" | "amendId" | "amendExpiresAt" | "amendSeq">;

/** The API's order shape (SPEC "REST shapes"): every amount a decimal string. */
export interface OrderView {
  id: string;
  client_order_id: string | null;
  market: string;
  side: "buy" | "sell";
  type: string;
  status: string;
  time_in_force: string;
  post_only: boolean;
  self_trade_prevention: string;
  price: string | null;
  stop_price: string | null;
  quantity: string | null;
  quote_quantity: string | null;
  visible_quantity: string | null;
  trailing_offset: string | null;
  trailing_offset_unit: string | null;
  /** Both legs of an OCO carry the pair's id (the limit leg's id). */
  oco_group_id: string | null;
  filled_quantity: string;
  remaining_quantity: string | null;
  filled_quote: string;
  locked: { asset: string; amount: string; consumed: string; released: string };
  reject_reason: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface FillView {
  trade_id: string;
  /** The order that filled (an OCO reply lists fills of either leg). */
  order_id?: string;
  price: string;
  quantity: string;
  fee: string;
  fee_asset: string;
  liquidity: "maker" | "taker";
}

const OPEN = new Set(["pending", "new", "partially_filled"]);

/** `printAmount` of an amount that may be absent (one function, not two closures made per view). */
const amountOrNull = (v: bigint | null, decimals: number) => (v === null ? null : printAmount(v, decimals));

export function toOrderView(row: OrderViewRow, rules: MarketRules): OrderView {
  const { baseDecimals, quoteDecimals } = rules;
  const lockDecimals = row.lockAsset === rules.baseAsset ? baseDecimals : quoteDecimals;
  return {
    id: row.id,
    client_order_id: row.clientOrderId,
    market: row.market,
    side: row.side,
    type: row.type,
    status: row.status,
    time_in_force: row.timeInForce,
    post_only: row.postOnly,
    self_trade_prevention: row.selfTradePrevention,
    price: amountOrNull(row.price, quoteDecimals),
    stop_price: amountOrNull(row.stopPrice, quoteDecimals),
    quantity: amountOrNull(row.quantity, baseDecimals),
    quote_quantity: amountOrNull(row.quoteQuantity, quoteDecimals),
    visible_quantity: amountOrNull(row.visibleQuantity, baseDecimals),
    trailing_offset: row.trailingOffset === null ? null : String(row.trailingOffset),
    trailing_offset_unit: row.trailingOffsetUnit,
    oco_group_id: row.ocoGroupId,
    filled_quantity: printAmount(row.filledQuantity, baseDecimals),
    remaining_quantity:
      row.quantity === null
        ? null
        : printAmount(OPEN.has(row.status) ? row.quantity - row.filledQuantity : 0n, baseDecimals),
    filled_quote: printAmount(row.filledQuote, quoteDecimals),
    locked: {
      asset: row.lockAsset,
      amount: printAmount(row.lockedAmount, lockDecimals),
      consumed: printAmount(row.consumedAmount, lockDecimals),
      released: printAmount(row.releasedAmount, lockDecimals),
    },
    reject_reason: row.rejectReason,
    created_at: isoTime(row.createdAt),
    updated_at: isoTime(row.updatedAt),
    closed_at: row.closedAt ? isoTime(row.closedAt) : null,
  };
}

type FillAmounts = Pick<FillView, "price" | "quantity" | "fee" | "fee_asset">;
const fillAmounts = new WeakMap<MarketRules, Memo<string, FillAmounts>>();

/**
 * A fill reported by the order book, with the fee this side pays (in what it receives). Its
 * amounts are memoised per market (the same price, quantity and side repeat).
 */
export function toFillView(
  rules: MarketRules,
  side: "buy" | "sell",
  fill: { tradeId: string; price: string; quantity: string; liquidity: "maker" | "taker"; orderId?: string },
): FillView {
  const amounts = memoFor(rules, fillAmounts).get(
    `${side} ${fill.liquidity} ${fill.price} ${fill.quantity}`,
    () => fillAmountsOf(rules, side, fill),
  );
  return {
    trade_id: fill.tradeId,
    ...(fill.orderId === undefined ? {} : { order_id: fill.orderId }),
    price: amounts.price,
    quantity: amounts.quantity,
    fee: amounts.fee,
    fee_asset: amounts.fee_asset,
    liquidity: fill.liquidity,
  };
}

function fillAmountsOf(
  rules: MarketRules,
  side: "buy" | "sell",
  fill: { price: string; quantity: string; liquidity: "maker" | "taker" },
): FillAmounts {
  const price = parseUnits(fill.price, rules.quoteDecimals);
  const quantity = parseUnits(fill.quantity, rules.baseDecimals);
  const takerSide = fill.liquidity === "taker" ? side : side === "buy" ? "sell" : "buy";
  const s = settleFill(rules, {
    priceTicks: Number(price / rules.tickSize),
    lots: Number(quantity / rules.lotSize),
    takerSide,
  });
  return {
    price: formatUnits(price, rules.quoteDecimals),
    quantity: formatUnits(quantity, rules.baseDecimals),
    fee:
      side === "buy"
        ? formatUnits(s.buyerFee, rules.baseDecimals)
        : formatUnits(s.sellerFee, rules.quoteDecimals),
    fee_asset: side === "buy" ? rules.baseAsset : rules.quoteAsset,
  };
}

/** One of my trades (GET /trades), seen from `userId`'s side. */
export function toMyTradeView(row: TradeRow, rules: MarketRules, userId: string) {
  const side = row.buyerId === userId ? "buy" : "sell";
  return {
    trade_id: row.tradeId,
    market: row.market,
    order_id: side === "buy" ? row.buyOrderId : row.sellOrderId,
    side,
    price: formatUnits(row.price, rules.quoteDecimals),
    quantity: formatUnits(row.quantity, rules.baseDecimals),
    quote_quantity: formatUnits(row.quoteAmount, rules.quoteDecimals),
    fee:
      side === "buy"
        ? formatUnits(row.buyerFee, rules.baseDecimals)
        : formatUnits(row.sellerFee, rules.quoteDecimals),
    fee_asset: side === "buy" ? rules.baseAsset : rules.quoteAsset,
    liquidity: (row.takerSide === side ? "taker" : "maker") as "maker" | "taker",
    executed_at: row.executedAt.toISOString(),
  };
}
