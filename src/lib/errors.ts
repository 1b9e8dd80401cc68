import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * Stable error codes, grouped by subsystem (as exchange-core groups its result codes).
 * Clients branch on `code`; `message` is for humans and may change.
 */
export const ErrorCode = {
  // request shape
  BAD_REQUEST: "BAD_REQUEST",
  MALFORMED_JSON: "MALFORMED_JSON",
  VALIDATION_FAILED: "VALIDATION_FAILED",
  UNSUPPORTED_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  NOT_FOUND: "NOT_FOUND",
  METHOD_NOT_ALLOWED: "METHOD_NOT_ALLOWED",
  CONFLICT: "CONFLICT",
  RATE_LIMITED: "RATE_LIMITED",
  /** The account placed more orders than its order-entry limit allows in a window. */
  TOO_MANY_ORDERS: "TOO_MANY_ORDERS",
  // authentication and authorization
  UNAUTHORIZED: "UNAUTHORIZED",
  FORBIDDEN: "FORBIDDEN",
  /** Login: unknown email, wrong password or deleted account (one answer for all three). */
  INVALID_CREDENTIALS: "INVALID_CREDENTIALS",
  /** Refresh token unknown, expired, revoked, or reused (which also revokes its family). */
  INVALID_REFRESH_TOKEN: "INVALID_REFRESH_TOKEN",
  INVALID_VERIFICATION_TOKEN: "INVALID_VERIFICATION_TOKEN",
  EMAIL_TAKEN: "EMAIL_TAKEN",
  EMAIL_NOT_VERIFIED: "EMAIL_NOT_VERIFIED",
  CURRENT_PASSWORD_INCORRECT: "CURRENT_PASSWORD_INCORRECT",
  /** An administrator banned the account: refused everywhere until it is made active again. */
  ACCOUNT_BANNED: "ACCOUNT_BANNED",
  /** A sensitive change (e.g. creating an API key) asks for the current password and none was sent. */
  CURRENT_PASSWORD_REQUIRED: "CURRENT_PASSWORD_REQUIRED",
  /** 2FA is on: send `totp_code` (or, where accepted, `recovery_code`). */
  TWO_FACTOR_REQUIRED: "TWO_FACTOR_REQUIRED",
  /** The TOTP or recovery code is wrong, already used, or older than one already used. */
  INVALID_TWO_FACTOR_CODE: "INVALID_TWO_FACTOR_CODE",
  TWO_FACTOR_ALREADY_ENABLED: "TWO_FACTOR_ALREADY_ENABLED",
  /** 2FA disable while it is off. */
  TWO_FACTOR_NOT_ENABLED: "TWO_FACTOR_NOT_ENABLED",
  /** 2FA enable before `2fa/setup`. */
  TWO_FACTOR_NOT_SET_UP: "TWO_FACTOR_NOT_SET_UP",
  /** Password reset token unknown, already used, or expired (one code each). */
  INVALID_RESET_TOKEN: "INVALID_RESET_TOKEN",
  RESET_TOKEN_USED: "RESET_TOKEN_USED",
  RESET_TOKEN_EXPIRED: "RESET_TOKEN_EXPIRED",
  /** A `withdraw` API key must name the IPs it may be used from. */
  IP_ALLOWLIST_REQUIRED: "IP_ALLOWLIST_REQUIRED",
  /** Signed API request: unknown key, bad signature, timestamp outside the window, or IP not allowed. */
  INVALID_API_SIGNATURE: "INVALID_API_SIGNATURE",
  API_REQUEST_REPLAYED: "API_REQUEST_REPLAYED",
  /** The credential is valid but does not carry the permission this endpoint needs. */
  INSUFFICIENT_PERMISSION: "INSUFFICIENT_PERMISSION",
  // wallets
  INVALID_AMOUNT: "INVALID_AMOUNT",
  INVALID_ADDRESS: "INVALID_ADDRESS",
  UNKNOWN_ASSET: "UNKNOWN_ASSET",
  ASSET_DISABLED: "ASSET_DISABLED",
  INSUFFICIENT_FUNDS: "INSUFFICIENT_FUNDS",
  BELOW_MINIMUM: "BELOW_MINIMUM",
  DAILY_LIMIT_EXCEEDED: "DAILY_LIMIT_EXCEEDED",
  KYC_REQUIRED: "KYC_REQUIRED",
  /** Withdrawals are held for 24 h after a password, 2FA or withdraw-key change (`details.held_until`). */
  WITHDRAWAL_HOLD: "WITHDRAWAL_HOLD",
  /** `allowlist_only` is on and the address is not on the user's allow-list for the asset. */
  ADDRESS_NOT_ALLOWLISTED: "ADDRESS_NOT_ALLOWLISTED",
  /** The address is allow-listed but still inside its 24 h waiting period (`details.usable_after`). */
  ADDRESS_NOT_YET_USABLE: "ADDRESS_NOT_YET_USABLE",
  /** Four eyes: an admin cannot approve a withdrawal of their own or one funded by their credit. */
  FOUR_EYES_REQUIRED: "FOUR_EYES_REQUIRED",
  INVALID_STATE: "INVALID_STATE",
  UNKNOWN_DEPOSIT_ADDRESS: "UNKNOWN_DEPOSIT_ADDRESS",
  DEPOSIT_MISMATCH: "DEPOSIT_MISMATCH",
  INVALID_SIGNATURE: "INVALID_SIGNATURE",
  STALE_TIMESTAMP: "STALE_TIMESTAMP",
  LEDGER_UNBALANCED: "LEDGER_UNBALANCED",
  // idempotency
  IDEMPOTENCY_KEY_REQUIRED: "IDEMPOTENCY_KEY_REQUIRED",
  IDEMPOTENCY_KEY_REUSED: "IDEMPOTENCY_KEY_REUSED",
  IDEMPOTENCY_IN_PROGRESS: "IDEMPOTENCY_IN_PROGRESS",
  // trading (the market rules share the order book's codes below: INVALID_TICK, INVALID_LOT, ...)
  INVALID_ORDER: "INVALID_ORDER",
  INVALID_PRICE: "INVALID_PRICE",
  INVALID_QUANTITY: "INVALID_QUANTITY",
  PRICE_OUT_OF_RANGE: "PRICE_OUT_OF_RANGE",
  /** The limit price is outside the market's percent price band around the last price. */
  PERCENT_PRICE: "PERCENT_PRICE",
  /** The account already has the market's maximum of live orders. */
  MAX_OPEN_ORDERS: "MAX_OPEN_ORDERS",
  UNBOUNDED_BUY: "UNBOUNDED_BUY",
  DUPLICATE_CLIENT_ORDER_ID: "DUPLICATE_CLIENT_ORDER_ID",
  ORDER_REJECTED: "ORDER_REJECTED",
  /** Amend of an order the book cannot amend: an OCO leg, a stop still waiting for its trigger. */
  ORDER_NOT_AMENDABLE: "ORDER_NOT_AMENDABLE",
  /** Another amendment of this order is still in flight; retry when it has answered. */
  AMEND_IN_PROGRESS: "AMEND_IN_PROGRESS",
  // markets and the order book (the object's own reject codes pass through as they are)
  MARKET_NOT_FOUND: "MARKET_NOT_FOUND",
  MARKET_EXISTS: "MARKET_EXISTS",
  MARKET_HALTED: "MARKET_HALTED",
  MARKET_CANCEL_ONLY: "MARKET_CANCEL_ONLY",
  INVALID_TICK: "INVALID_TICK",
  INVALID_LOT: "INVALID_LOT",
  QUANTITY_TOO_SMALL: "QUANTITY_TOO_SMALL",
  QUANTITY_TOO_LARGE: "QUANTITY_TOO_LARGE",
  NOTIONAL_TOO_SMALL: "NOTIONAL_TOO_SMALL",
  ORDER_NOT_FOUND: "ORDER_NOT_FOUND",
  ORDER_NOT_OPEN: "ORDER_NOT_OPEN",
  // platform
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode] | (string & {});

/** A domain or request error that the error handler turns into the one JSON error shape. */
export class AppError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCodeValue,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new AppError(400, ErrorCode.BAD_REQUEST, message, details);
export const unauthorized = (message = "Authentication required") =>
  new AppError(401, ErrorCode.UNAUTHORIZED, message);
export const forbidden = (message = "You are not allowed to do this") =>
  new AppError(403, ErrorCode.FORBIDDEN, message);
export const accountBanned = () =>
  new AppError(403, ErrorCode.ACCOUNT_BANNED, "This account is banned; contact support");
export const notFound = (what = "Resource") => new AppError(404, ErrorCode.NOT_FOUND, `${what} not found`);
export const conflict = (message: string, code: ErrorCodeValue = ErrorCode.CONFLICT) =>
  new AppError(409, code, message);
export const unprocessable = (
  message: string,
  code: ErrorCodeValue = ErrorCode.VALIDATION_FAILED,
  details?: unknown,
) => new AppError(422, code, message, details);
export const serviceUnavailable = (message: string, details?: unknown) =>
  new AppError(503, ErrorCode.SERVICE_UNAVAILABLE, message, details);
