import fc from "fast-check";
import type { Command } from "../../../durable-objects/engine";

// Small domains on purpose: few users, ids and prices make self-trades, duplicate ids,
// cancels of live orders, stop triggers and level collisions frequent.
const orderId = fc.integer({ min: 1, max: 16 });
const userId = fc.integer({ min: 1, max: 3 });
const side = fc.constantFrom("buy" as const, "sell" as const);
const price = fc.integer({ min: 95, max: 105 });
const quantity = fc.integer({ min: 1, max: 10 });
const stp = fc.constantFrom(
  undefined,
  "expire_taker" as const,
  "expire_maker" as const,
  "expire_both" as const,
);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 3 });

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
  .record({
    orderId,
    userId,
    side,
    quantity,
    stp,
    byQuote: fc.boolean(),
    quote: fc.integer({ min: 1, max: 2500 }),
  })
  .map(({ byQuote, quote, ...c }): Command =>
    byQuote && c.side === "buy"
      ? { kind: "place", type: "market", ...c, quantity: undefined, quoteQuantity: quote }
      : { kind: "place", type: "market", ...c },
  );

const stop = fc
  .record({
    orderId,
    userId,
    side,
    quantity,
    stp,
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
    orderId,
    userId,
    side,
    quantity,
    stp,
    bps: fc.boolean(),
    ticks: fc.integer({ min: 1, max: 4 }),
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

export const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: limit, weight: 10 },
  { arbitrary: market, weight: 3 },
  { arbitrary: stop, weight: 2 },
  { arbitrary: trailing, weight: 1 },
  { arbitrary: oco, weight: 1 },
  { arbitrary: cancel, weight: 3 },
  { arbitrary: cancelAll, weight: 1 },
  { arbitrary: amend, weight: 5 },
);

export const commands = fc.array(command, { minLength: 5, maxLength: 80 });
