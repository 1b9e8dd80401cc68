import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyFill,
  averageCost,
  emptyPosition,
  unrealizedPnl,
  type Position,
} from "../../../src/services/trading/positions";

const BTC = 8;
const SAT = 100_000_000n;

/** A buy of `base` satoshi at `price` micro-USDT per BTC (quote rounded down, as settlement does). */
const buy = (price: bigint, base: bigint) => ({ side: "buy" as const, base, quote: (price * base) / SAT });
const sell = (price: bigint, base: bigint) => ({ side: "sell" as const, base, quote: (price * base) / SAT });

describe("positions", () => {
  it("a worked example: two buys average, a sell realizes against the average and leaves it", () => {
    let p: Position = emptyPosition();
    p = applyFill(p, buy(60_000_000_000n, SAT), BTC); // 1 BTC at 60,000
    p = applyFill(p, buy(70_000_000_000n, SAT), BTC); // 1 BTC at 70,000
    expect(averageCost(p)).toBe(65_000_000_000n);
    p = applyFill(p, sell(80_000_000_000n, SAT / 2n), BTC); // 0.5 BTC at 80,000
    expect(averageCost(p)).toBe(65_000_000_000n);
    expect(p.quantity).toBe(150_000_000n);
    expect(p.realizedPnl).toBe(7_500_000_000n); // (80,000 − 65,000) × 0.5
    expect(unrealizedPnl(p, 64_000_000_000n, BTC)).toBe(-1_500_000_000n); // (64,000 − 65,000) × 1.5
  });

  const price = fc.bigInt({ min: 1n, max: 10n ** 12n });
  const amount = fc.bigInt({ min: 1n, max: 10n ** 10n });
  const fills = fc.array(
    fc.oneof(
      fc.tuple(price, amount).map(([p, b]) => buy(p, b)),
      fc.tuple(price, amount).map(([p, b]) => sell(p, b)),
    ),
    { maxLength: 40 },
  );

  it("sells never move the average cost; buys keep it between the prices paid", () => {
    fc.assert(
      fc.property(fills, (script) => {
        let p = emptyPosition();
        let low = -1n;
        let high = -1n;
        for (const fill of script) {
          const before = p;
          p = applyFill(p, fill, BTC);
          expect(p.quantity).toBeGreaterThanOrEqual(0n);
          if (fill.side === "sell") {
            if (p.quantity > 0n) expect(p.avgCost).toBe(before.avgCost);
            if (p.quantity === 0n) [low, high] = [-1n, -1n];
          } else if (fill.base > 0n) {
            const paid = (fill.quote * SAT) / fill.base; // per whole BTC, rounded down
            low = low < 0n || paid < low ? paid : low;
            high = high < 0n || paid + 1n > high ? paid + 1n : high;
            expect(averageCost(p)).toBeGreaterThanOrEqual(low - 1n);
            expect(averageCost(p)).toBeLessThanOrEqual(high);
          }
        }
      }),
    );
  });

  it("buying and selling everything at one price realizes nothing (to a minor unit per sell)", () => {
    fc.assert(
      fc.property(price, fc.array(amount, { minLength: 1, maxLength: 10 }), (p, buys) => {
        let position = emptyPosition();
        let total = 0n;
        for (const b of buys) {
          position = applyFill(position, { side: "buy", base: b, quote: (p * b) / SAT }, BTC);
          total += b;
        }
        const cost = buys.reduce((sum, b) => sum + (p * b) / SAT, 0n);
        position = applyFill(position, { side: "sell", base: total, quote: cost }, BTC);
        expect(position.quantity).toBe(0n);
        expect(position.realizedPnl).toBeGreaterThanOrEqual(0n);
        expect(position.realizedPnl).toBeLessThanOrEqual(1n);
      }),
    );
  });
});
