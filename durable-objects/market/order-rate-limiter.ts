import {
  effectiveOrderLimits,
  type OrderLimitOverrides,
  type OrderLimits,
} from "../../src/domain/market/order-limits";
import type { CommandError } from "../../src/domain/market/commands";

const TEN_SECONDS = 10_000;
const DAY = 86_400_000;

interface Usage {
  /** Start of the current 10-second window (ms, aligned). */
  window: number;
  inWindow: number;
  day: number;
  inDay: number;
}

/**
 * Counts each account's placements in this market in fixed windows (10 s and the UTC day), as
 * Binance's ORDERS limits do. Every placement reaches the object's intake, whether it came over
 * REST, a batch or a socket, so counting here counts them all the same. In memory: a restarted
 * object forgets its counts, which errs towards the trader, never towards a lost order.
 */
export class OrderRateLimiter {
  private readonly usage = new Map<string, Usage>();
  private day = 0;

  constructor(private readonly defaults: OrderLimits) {}

  /** Counts one placement, or the refusal when the account is at a limit (nothing is counted). */
  take(userId: string, overrides: OrderLimitOverrides | undefined, now: number): CommandError | null {
    const window = now - (now % TEN_SECONDS);
    const day = now - (now % DAY);
    if (day !== this.day) {
      this.usage.clear(); // yesterday's accounts; keeps the map to today's traders
      this.day = day;
    }
    let u = this.usage.get(userId);
    if (!u) this.usage.set(userId, (u = { window, inWindow: 0, day, inDay: 0 }));
    if (u.window !== window) {
      u.window = window;
      u.inWindow = 0;
    }
    const limits = effectiveOrderLimits(this.defaults, overrides);
    if (u.inDay >= limits.perDay) return refusal(`${limits.perDay} orders a day`, day + DAY - now);
    if (u.inWindow >= limits.per10s) {
      return refusal(`${limits.per10s} orders in 10 seconds`, window + TEN_SECONDS - now);
    }
    u.inWindow++;
    u.inDay++;
    return null;
  }
}

function refusal(limit: string, retryAfterMs: number): CommandError {
  return {
    ok: false,
    code: "TOO_MANY_ORDERS",
    message: `Order limit reached: this account may place ${limit}`,
    retryAfterMs,
  };
}
