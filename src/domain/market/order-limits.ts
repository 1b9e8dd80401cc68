/**
 * Order-entry limits, per account, like Binance's ORDERS limits: placements per 10 seconds and
 * per day. The exchange's defaults are variables (ORDER_LIMIT_PER_10S, ORDER_LIMIT_PER_DAY); an
 * admin may set an account's own (a market maker gets more than a newcomer) and an API key's
 * (over its account's). Every placement counts the same, whether it came over REST, in a batch
 * or over a socket: the market's object counts them where they all arrive.
 */
/** Most orders one batch may carry, over REST (`POST /api/v1/orders/batch`) or a socket (`order.batch`). */
export const MAX_BATCH_ORDERS = 100;

export interface OrderLimits {
  per10s: number;
  perDay: number;
}

/** An account's or API key's own limits; an unset one falls back to the next level. */
export interface OrderLimitOverrides {
  per10s?: number | null;
  perDay?: number | null;
}

export const FALLBACK_ORDER_LIMITS: OrderLimits = { per10s: 100, perDay: 200_000 };

function positive(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The exchange's defaults from the environment. */
export function defaultOrderLimits(env: {
  ORDER_LIMIT_PER_10S?: string;
  ORDER_LIMIT_PER_DAY?: string;
}): OrderLimits {
  return {
    per10s: positive(env.ORDER_LIMIT_PER_10S, FALLBACK_ORDER_LIMITS.per10s),
    perDay: positive(env.ORDER_LIMIT_PER_DAY, FALLBACK_ORDER_LIMITS.perDay),
  };
}

/**
 * The first set value of each limit, most specific first (API key, account, exchange). Read per
 * placement by the market's object, so a plain loop (no arrays or closures per call).
 */
export function effectiveOrderLimits(
  defaults: OrderLimits,
  ...overrides: (OrderLimitOverrides | null | undefined)[]
): OrderLimits {
  let per10s: number | null | undefined;
  let perDay: number | null | undefined;
  for (const o of overrides) {
    per10s ??= o?.per10s;
    perDay ??= o?.perDay;
  }
  return { per10s: per10s ?? defaults.per10s, perDay: perDay ?? defaults.perDay };
}
