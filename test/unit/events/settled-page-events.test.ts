import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  expandSettledPage,
  settledPageEvents,
  type SettledPage,
} from "../../../src/domain/events/settled-page-events";

/**
 * The expansion as it was before the texts were written from the page (an envelope per event,
 * BigInt ids, then JSON.stringify): what consumers saw, so what they must still see.
 */
function reference(page: SettledPage): string[] {
  const out: object[] = [];
  const id = (n: number) => {
    const node = (BigInt(`0x${page.id.slice(24)}`) + BigInt(n)) % 2n ** 48n;
    return page.id.slice(0, 24) + node.toString(16).padStart(12, "0");
  };
  const metadata = { ip_address: null, user_agent: null, request_id: null };
  const { market, timestamp } = page;
  const add = (type: string, user_id: string, payload: object) =>
    out.push({ id: id(out.length), type, timestamp, user_id, payload, metadata });
  for (const e of page.events) {
    const type = e[0] as string;
    if (type === "trade.executed") {
      const [, tradeId, price, quantity, takerSide, buyId, buyerId, sellId, sellerId] = e as string[];
      const trade = { market, trade_id: tradeId, price, quantity, taker_side: takerSide };
      add(type, buyerId!, { ...trade, order_id: buyId, side: "buy" });
      add(type, sellerId!, { ...trade, order_id: sellId, side: "sell" });
    } else if (type === "order.accepted") {
      add(type, e[1] as string, { order_id: e[2], market });
    } else {
      const [, userId, orderId, status, reason] = e as (string | null)[];
      add(type, userId!, { order_id: orderId, market, status, ...(reason ? { reason } : {}) });
    }
  }
  return out.map((e) => JSON.stringify(e));
}

/** A value of a page: mostly strings (any code units, quotes, lone surrogates), sometimes not. */
const value = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary" }) },
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, "", 0, 7, true) },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const reason = fc.oneof(fc.constant(null), fc.constantFrom("INSUFFICIENT_FUNDS", "", 'a"b'), value);
const element = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constant("order.accepted"), value, value) },
  {
    weight: 4,
    arbitrary: fc.tuple(
      fc.constant("trade.executed"),
      value,
      value,
      value,
      value,
      value,
      value,
      value,
      value,
    ),
  },
  {
    weight: 4,
    arbitrary: fc.tuple(fc.constantFrom("order.filled", "order.cancelled"), value, value, value, reason),
  },
  { weight: 1, arbitrary: fc.array(value, { maxLength: 10 }) },
  { weight: 1, arbitrary: fc.tuple(value, value, value, value, reason) },
);
const pageId = fc.oneof(
  { weight: 8, arbitrary: fc.uuid() },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.uuid(), fc.constantFrom("f", "ffffffffffff", "fffffffffffff0", " 1", "g"))
      .map(([u, tail]) => u.slice(0, 24) + tail),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary" }) },
);
const page = fc.record({
  id: pageId,
  timestamp: fc.oneof(
    { weight: 8, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
    { weight: 1, arbitrary: value },
  ),
  market: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("BTC-USDT", "ETH-USDT") },
    { weight: 2, arbitrary: value },
  ),
  events: fc.array(element, { maxLength: 12 }),
}) as fc.Arbitrary<unknown> as fc.Arbitrary<SettledPage>;

const outcome = <T>(f: () => T): { value: T } | { threw: true } => {
  try {
    return { value: f() };
  } catch {
    return { threw: true };
  }
};

describe("settledPageEvents", () => {
  it("writes each event's text exactly as JSON.stringify of its envelope did", () => {
    fc.assert(
      fc.property(page, (p) => {
        const expected = outcome(() => reference(p));
        const got = outcome(() => settledPageEvents(p).texts);
        expect(got).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  }, 60_000);

  it("gives the envelopes the texts are of", () => {
    fc.assert(
      fc.property(page, (p) => {
        const got = outcome(() => settledPageEvents(p));
        if ("threw" in got) return;
        expect(got.value.envelopes.map((e) => JSON.stringify(e))).toEqual(got.value.texts);
        expect(expandSettledPage(p)).toEqual(got.value.envelopes);
      }),
      { numRuns: 1_000 },
    );
  }, 60_000);

  it("derives event ids from the page's across its 48-bit wrap", () => {
    const p = (id: string): SettledPage => ({
      id,
      timestamp: "2026-12-07T00:00:00.000Z",
      market: "BTC-USDT",
      events: [
        ["order.accepted", "u", "o1"],
        ["order.accepted", "u", "o2"],
      ],
    });
    expect(expandSettledPage(p("01234567-89ab-7def-8123-fffffffffffe")).map((e) => e.id)).toEqual([
      "01234567-89ab-7def-8123-fffffffffffe",
      "01234567-89ab-7def-8123-ffffffffffff",
    ]);
    expect(expandSettledPage(p("01234567-89ab-7def-8123-ffffffffffff")).map((e) => e.id)).toEqual([
      "01234567-89ab-7def-8123-ffffffffffff",
      "01234567-89ab-7def-8123-000000000000",
    ]);
  });
});
