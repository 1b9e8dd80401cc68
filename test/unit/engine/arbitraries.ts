import fc from "fast-check";
import type { Command } from "../../../durable-objects/engine";
import { WINDOW } from "../../../durable-objects/engine/price-levels";

// Small domains on purpose: few users, ids and prices make self-trades, duplicate ids,
// cancels of live orders, stop triggers and level collisions frequent.
const orderId = fc.integer({ min: 1, max: 16 });
const userId = fc.integer({ min: 1, max: 3 });
const side = fc.constantFrom("buy" as const, "sell" as const);
const quantity = fc.integer({ min: 1, max: 10 });
const stp = fc.constantFrom(
  undefined,
  "expire_taker" as const,
  "expire_maker" as const,
  "expire_both" as const,
);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 3 });

const MAX_PRICE = 2 ** 31 - 1;

/** Where prices come from, and budgets and trailing offsets to match their scale. */
export interface PriceModel {
  price: fc.Arbitrary<number>;
  quote: fc.Arbitrary<number>;
  trailingTicks: fc.Arbitrary<number>;
}

/** Eleven ticks around 100: every order collides with others, stops trigger often. */
export const narrowPrices: PriceModel = {
  price: fc.integer({ min: 95, max: 105 }),
  quote: fc.integer({ min: 1, max: 2500 }),
  trailingTicks: fc.integer({ min: 1, max: 4 }),
};

/**
 * The whole price range: a few ticks around a BTC-like price (9,000,000 ticks) or a small one,
 * moved by 10-50% (or doubled), at the window's edges, and the extremes 1 and 2^31 − 1. Prices
 * of one log land in the dense window and far from it, and the touch jumps between them.
 */
export const widePrices: PriceModel = {
  price: fc
    .record({
      anchor: fc.constantFrom(9_000_000, 9_000_000, 1_000),
      factor: fc.constantFrom(1, 1, 1, 1, 0.5, 0.7, 0.8, 0.9, 1.1, 1.2, 1.5, 2),
      offset: fc.oneof(
        { arbitrary: fc.integer({ min: -3, max: 3 }), weight: 4 },
        {
          arbitrary: fc.constantFrom(
            -WINDOW,
            1 - WINDOW / 2,
            -WINDOW / 2,
            WINDOW / 2 - 1,
            WINDOW / 2,
            WINDOW,
          ),
          weight: 1,
        },
      ),
      extreme: fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, MAX_PRICE),
    })
    .map(({ anchor, factor, offset, extreme }) =>
      extreme !== 0 ? extreme : Math.min(MAX_PRICE, Math.max(1, Math.round(anchor * factor) + offset)),
    ),
  quote: fc.integer({ min: 1, max: 200_000_000 }),
  trailingTicks: fc.constantFrom(1, 4, 5_000, 900_000),
};

/** One random command whose prices follow `model`. */
export function commandOver(model: PriceModel): fc.Arbitrary<Command> {
  const price = model.price;
  /** Fields every placing command draws. */
  const order = { orderId, userId, side, quantity, stp };
  const limit = fc
    .record({
      orderId,
      userId,
      side,
      price,
      quantity,
      stp,
      timeInForce: fc.constantFrom(undefined, undefined, "GTC" as const, "IOC" as const, "FOK" as const),
      postOnly: fc.constantFrom(undefined, undefined, undefined, false, true),
      visibleQuantity: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 4 }),
    })
    // Icebergs and post-only orders are GTC: keep most of them valid.
    .map((c): Command => ({
      kind: "place",
      type: "limit",
      ...c,
      timeInForce: c.visibleQuantity !== undefined || c.postOnly ? undefined : c.timeInForce,
    }));

  const market = fc
    .record({ ...order, byQuote: fc.boolean(), quote: model.quote })
    .map(({ byQuote, quote, ...c }): Command =>
      byQuote && c.side === "buy"
        ? { kind: "place", type: "market", ...c, quantity: undefined, quoteQuantity: quote }
        : { kind: "place", type: "market", ...c },
    );

  const stop = fc
    .record({
      ...order,
      stopPrice: price,
      limitPrice: maybe(price),
      timeInForce: fc.constantFrom(undefined, "GTC" as const, "IOC" as const, "FOK" as const),
    })
    .map(({ limitPrice, timeInForce, ...c }): Command =>
      limitPrice === undefined
        ? { kind: "place", type: "stop_loss", ...c }
        : { kind: "place", type: "stop_limit", ...c, price: limitPrice, timeInForce },
    );

  const trailing = fc
    .record({
      ...order,
      bps: fc.boolean(),
      ticks: model.trailingTicks,
      basisPoints: fc.integer({ min: 50, max: 400 }),
    })
    .map(({ bps, ticks, basisPoints, ...c }): Command => ({
      kind: "place",
      type: "trailing_stop",
      ...c,
      trailingOffset: bps ? basisPoints : ticks,
      trailingUnit: bps ? "bps" : "ticks",
    }));

  const oco = fc
    .record({
      orderId,
      stopOrderId: orderId,
      userId,
      side,
      quantity,
      price,
      stopPrice: price,
      stopLimitPrice: maybe(price),
      stp,
    })
    .map((c): Command => ({ kind: "place_oco", ...c }));

  const cancel = orderId.map((id): Command => ({ kind: "cancel", orderId: id }));
  const cancelAll = userId.map((id): Command => ({ kind: "cancel_all", userId: id }));
  const amend = fc
    .record({ orderId, price: maybe(price), quantity: maybe(fc.integer({ min: 1, max: 12 })) })
    .map((c): Command => ({ kind: "amend", ...c }));

  return fc.oneof(
    { arbitrary: limit, weight: 10 },
    { arbitrary: market, weight: 3 },
    { arbitrary: stop, weight: 2 },
    { arbitrary: trailing, weight: 1 },
    { arbitrary: oco, weight: 1 },
    { arbitrary: cancel, weight: 3 },
    { arbitrary: cancelAll, weight: 1 },
    { arbitrary: amend, weight: 5 },
  );
}

export const commands = fc.array(commandOver(narrowPrices), { minLength: 5, maxLength: 80 });
export const wideCommands = fc.array(commandOver(widePrices), { minLength: 5, maxLength: 80 });

/**
 * A resting book of `orders` GTC limits from users 11-20 (order ids from 1,001, so the random
 * commands' ids 1-16 never collide): bids below `mid`, asks above it, half within a window of
 * the mid and half anywhere on their side of the whole range, so the book has thousands of levels
 * both dense and far.
 */
export function bookAround(mid: number, orders: number, seed: number): Command[] {
  let state = seed >>> 0 || 1;
  const random = (n: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return Math.floor((state / 4294967296) * n);
  };
  const out: Command[] = [];
  for (let i = 0; i < orders; i++) {
    const buy = (i & 1) === 0;
    const near = random(2) === 0;
    const distance = 1 + (near ? random(WINDOW) : random(buy ? mid - 1 : MAX_PRICE - mid));
    out.push({
      kind: "place",
      orderId: 1_001 + i,
      userId: 11 + random(10),
      side: buy ? "buy" : "sell",
      type: "limit",
      price: buy ? Math.max(1, mid - distance) : Math.min(MAX_PRICE, mid + distance),
      quantity: 1 + random(10),
    });
  }
  return out;
}
