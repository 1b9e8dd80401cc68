import type { OrderTypeName, SelfTradeName, SideName, TimeInForceName, TrailingUnitName } from "./types";

// Numeric codes shared by commands, events and snapshots. Values are part of the journal,
// event and snapshot formats: append new codes, never renumber.

/** Result of a command: `OK` or one of the reject reasons below. */
export const OK = 0;

/** Reject reasons, grouped by subsystem like exchange-core: 1xx validation, 2xx book state, 3xx matching. */
export const Reject = {
  INVALID_ORDER_ID: 101,
  INVALID_USER_ID: 102,
  INVALID_SIDE: 103,
  INVALID_TYPE: 104,
  INVALID_PRICE: 105,
  INVALID_QUANTITY: 106,
  INVALID_QUOTE_QUANTITY: 107,
  INVALID_STOP_PRICE: 108,
  INVALID_TRAILING_OFFSET: 109,
  INVALID_TIME_IN_FORCE: 110,
  INVALID_POST_ONLY: 111,
  INVALID_SELF_TRADE_MODE: 112,
  INVALID_VISIBLE_QUANTITY: 113,
  INVALID_COMMAND: 114,
  DUPLICATE_ORDER_ID: 201,
  UNKNOWN_ORDER: 202,
  BOOK_FULL: 203,
  PRICE_OUT_OF_BAND: 204,
  // 205 was PRICE_OUT_OF_RANGE (a resting price too far from the book); every price rests now. Never reuse it.
  NOT_AMENDABLE: 206,
  POST_ONLY_WOULD_TAKE: 301,
} as const;
export type RejectReason = (typeof Reject)[keyof typeof Reject];

export const EventKind = {
  ACCEPTED: 1,
  REJECTED: 2,
  TRADE: 3,
  ORDER_DONE: 4,
  LEVEL: 5,
  AMENDED: 6,
  TRIGGERED: 7,
} as const;
export type EventKindCode = (typeof EventKind)[keyof typeof EventKind];

export const DoneReason = { FILLED: 1, CANCELLED: 2, EXPIRED: 3 } as const;

export const Side = { BUY: 0, SELL: 1 } as const;

export const OrderType = {
  LIMIT: 0,
  MARKET: 1,
  STOP_LOSS: 2,
  STOP_LIMIT: 3,
  TRAILING_STOP: 4,
} as const;

export const TimeInForce = { GTC: 0, IOC: 1, FOK: 2 } as const;

export const SelfTrade = { EXPIRE_TAKER: 0, EXPIRE_MAKER: 1, EXPIRE_BOTH: 2 } as const;

export const TrailingUnit = { TICKS: 0, BPS: 1 } as const;

// The names commands and views use for these codes, indexed by code.
export const SIDE_NAMES: readonly SideName[] = ["buy", "sell"];
export const TYPE_NAMES: readonly OrderTypeName[] = [
  "limit",
  "market",
  "stop_loss",
  "stop_limit",
  "trailing_stop",
];
export const TIME_IN_FORCE_NAMES: readonly TimeInForceName[] = ["GTC", "IOC", "FOK"];
export const SELF_TRADE_NAMES: readonly SelfTradeName[] = ["expire_taker", "expire_maker", "expire_both"];
export const TRAILING_UNIT_NAMES: readonly TrailingUnitName[] = ["ticks", "bps"];
