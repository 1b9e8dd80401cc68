// Public, JSON-serializable shapes: commands (the journal), configuration and query results.
// Names and string values follow SPEC.md's REST shapes so the Durable Object maps them 1:1.

export type SideName = "buy" | "sell";
export type OrderTypeName = "limit" | "market" | "stop_loss" | "stop_limit" | "trailing_stop";
export type TimeInForceName = "GTC" | "IOC" | "FOK";
export type SelfTradeName = "expire_taker" | "expire_maker" | "expire_both";
export type TrailingUnitName = "ticks" | "bps";

/** Order ids and user ids are safe integers >= 1 chosen by the caller (the DO maps strings to them). */
export interface PlaceOrder {
  orderId: number;
  userId: number;
  side: SideName;
  type: OrderTypeName;
  /** Limit price in ticks (limit, stop_limit). */
  price?: number;
  /** Quantity in lots (every type except a market buy by quote amount). */
  quantity?: number;
  /** Market buy only: budget in quote units (ticks x lots). */
  quoteQuantity?: number;
  /** Trigger price in ticks (stop_loss, stop_limit). */
  stopPrice?: number;
  /** trailing_stop: distance from the best price since placement. */
  trailingOffset?: number;
  trailingUnit?: TrailingUnitName;
  /** Default GTC for limit orders, IOC for market orders. */
  timeInForce?: TimeInForceName;
  postOnly?: boolean;
  /** Default expire_taker. */
  stp?: SelfTradeName;
  /** Iceberg: the displayed peak in lots (limit orders only). */
  visibleQuantity?: number;
}

/** One-cancels-the-other: a GTC limit leg and a stop leg, same side, same quantity. */
export interface PlaceOco {
  orderId: number;
  stopOrderId: number;
  userId: number;
  side: SideName;
  quantity: number;
  price: number;
  stopPrice: number;
  /** When set the stop leg is a stop_limit at this price, otherwise a stop_loss (market). */
  stopLimitPrice?: number;
  stp?: SelfTradeName;
}

/** `quantity` is the new total order quantity (filled part included). */
export interface Amendment {
  price?: number;
  quantity?: number;
}

export type Command =
  | ({ kind: "place" } & PlaceOrder)
  | ({ kind: "place_oco" } & PlaceOco)
  | { kind: "cancel"; orderId: number }
  | { kind: "cancel_all"; userId: number }
  | ({ kind: "amend"; orderId: number } & Amendment);

export interface EngineConfig {
  /** Live orders (resting plus pending stops) the engine accepts. Default 1,048,576. */
  maxOrders?: number;
  /** Largest price in ticks, at most 2^31 - 1. Default 2^31 - 1. */
  maxPrice?: number;
  /** Largest quantity in lots. Default floor((2^53 - 1) / maxOrders) so level sums stay exact. */
  maxQuantity?: number;
  /** If set, limit and stop prices further than this from the last trade price are rejected. */
  priceBandTicks?: number;
  /** Order slots allocated up front; the pool doubles when full. Default 1,024. */
  initialOrders?: number;
}

/** A live order in the book: resting, or a stop waiting for its trigger (closed orders are gone). */
export type LiveOrderStatus = "open" | "pending_stop";

export interface LiveOrderView {
  orderId: number;
  userId: number;
  side: SideName;
  type: OrderTypeName;
  status: LiveOrderStatus;
  /** Limit price in ticks; 0 for market-type stops. */
  price: number;
  /** Stop price in ticks; for a trailing stop the current trigger price (0 before the first trade). */
  stopPrice: number;
  quantity: number;
  filled: number;
  remaining: number;
  /** Quantity currently displayed in the book (the iceberg's peak slice). */
  visible: number;
  timeInForce: TimeInForceName;
  postOnly: boolean;
  stp: SelfTradeName;
  /** The other leg of an OCO, or 0. */
  ocoOrderId: number;
}

export interface Depth {
  bids: [price: number, quantity: number][];
  asks: [price: number, quantity: number][];
}
