import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OrderRateLimiter } from "../../../durable-objects/market/order-rate-limiter";
import { effectiveOrderLimits } from "../../../src/domain/market/order-limits";

const DEFAULTS = { per10s: 5, perDay: 1_000 };

describe("OrderRateLimiter", () => {
  it("accepts exactly min(limit, attempts) in every aligned 10-second window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 200 }),
        (per10s, offsets) => {
          const limiter = new OrderRateLimiter(DEFAULTS);
          const start = Date.UTC(2026, 11, 5, 12); // mid-day: no day rollover in a minute
          const accepted = new Map<number, number>();
          const attempted = new Map<number, number>();
          for (const t of [...offsets].sort((a, b) => a - b)) {
            const now = start + t;
            const window = Math.floor(now / 10_000);
            attempted.set(window, (attempted.get(window) ?? 0) + 1);
            const refusal = limiter.take("u", { per10s }, now);
            if (!refusal) accepted.set(window, (accepted.get(window) ?? 0) + 1);
            else {
              expect(refusal.code).toBe("TOO_MANY_ORDERS");
              expect(refusal.retryAfterMs).toBe((window + 1) * 10_000 - now);
            }
          }
          for (const [window, n] of attempted) expect(accepted.get(window) ?? 0).toBe(Math.min(per10s, n));
        },
      ),
    );
  });

  it("counts accounts apart and the day across windows, and starts over the next day", () => {
    const limiter = new OrderRateLimiter({ per10s: 100, perDay: 3 });
    const day = Date.UTC(2026, 11, 5);
    for (let i = 0; i < 3; i++) expect(limiter.take("a", undefined, day + i * 20_000)).toBeNull();
    expect(limiter.take("a", undefined, day + 3_600_000)).toMatchObject({
      code: "TOO_MANY_ORDERS",
      retryAfterMs: 86_400_000 - 3_600_000,
    });
    expect(limiter.take("b", undefined, day + 3_600_000)).toBeNull();
    expect(limiter.take("a", undefined, day + 86_400_000)).toBeNull();
  });

  it("takes an API key's own limit over its account's over the exchange's", () => {
    expect(effectiveOrderLimits(DEFAULTS)).toEqual(DEFAULTS);
    expect(effectiveOrderLimits(DEFAULTS, { per10s: 50, perDay: null })).toEqual({
      per10s: 50,
      perDay: 1_000,
    });
    expect(effectiveOrderLimits(DEFAULTS, { per10s: null }, { per10s: 7, perDay: 9 })).toEqual({
      per10s: 7,
      perDay: 9,
    });
    expect(effectiveOrderLimits(DEFAULTS, { per10s: 70 }, { per10s: 7 })).toEqual({
      per10s: 70,
      perDay: 1_000,
    });
  });

  it("takes each limit from the first level that sets it, whatever levels are given", () => {
    const limit = fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined });
    const level = fc.option(fc.record({ per10s: fc.oneof(limit, fc.constant(null)), perDay: limit }), {
      nil: undefined,
    });
    fc.assert(
      fc.property(fc.array(level, { maxLength: 4 }), (levels) => {
        const first = (key: "per10s" | "perDay") =>
          levels.find((l) => l?.[key] != null)?.[key] ?? DEFAULTS[key];
        expect(effectiveOrderLimits(DEFAULTS, ...levels)).toEqual({
          per10s: first("per10s"),
          perDay: first("perDay"),
        });
      }),
    );
  });
});
