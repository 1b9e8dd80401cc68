import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockOutcomes, type LockAnswer } from "../../../durable-objects/market/funds-locker";
import type { LockOutcome, PlacementFunding } from "../../../src/domain/market/commands";

// place_orders' answer (migrations/0027) read back: the outcome per placement the function decided.

/** A placement's outcome as the function decides it; a lock names its balance row (0..3). */
const decided = fc.oneof(
  fc.record({ outcome: fc.constant("locked" as const), row: fc.integer({ min: 0, max: 3 }) }),
  fc.record({
    outcome: fc.constantFrom(
      "insufficient_funds" as const,
      "duplicate_order" as const,
      "invalid_lock" as const,
    ),
  }),
  fc.record({
    outcome: fc.constant("duplicate_client_order_id" as const),
    order_id: fc.option(fc.uuid(), { nil: null }),
  }),
);

type Decided = { outcome: string; row?: number; order_id?: string | null };

const CODES: Record<string, number> = {
  insufficient_funds: -1,
  duplicate_order: -2,
  duplicate_client_order_id: -3,
  invalid_lock: -4,
};

/** What the function answers for these outcomes: balance rows numbered by their first lock. */
function answerOf(outcomes: readonly Decided[]): {
  answer: LockAnswer;
  figures: Map<number, [string, string, string]>;
} {
  const k = new Map<number, number>();
  const figures = new Map<number, [string, string, string]>();
  const b: [string, string, string][] = [];
  const o = outcomes.map((x) => {
    if (x.outcome !== "locked") return CODES[x.outcome]!;
    if (!k.has(x.row!)) {
      const row: [string, string, string] = [`${x.row! * 1000 + 7}`, `${x.row! + 1}`, `${900 + x.row!}`];
      k.set(x.row!, b.length);
      b.push(row);
      figures.set(x.row!, row);
    }
    return k.get(x.row!)!;
  });
  const d = outcomes.filter((x) => x.outcome === "duplicate_client_order_id").map((x) => x.order_id ?? null);
  return { answer: { mark: 3, o, d, b }, figures };
}

const placements = (n: number) => new Array(n).fill({}) as PlacementFunding[];

describe("lockOutcomes: place_orders' compact answer read back", () => {
  it("gives each placement the outcome decided for it, a lock its balance row's figures", () => {
    fc.assert(
      fc.property(fc.array(decided, { minLength: 1, maxLength: 40 }), (outcomes: Decided[]) => {
        const { answer, figures } = answerOf(outcomes);
        const read = lockOutcomes(placements(outcomes.length), answer);
        const expected = outcomes.map((x): LockOutcome => {
          if (x.outcome === "locked") {
            const [available, locked, version] = figures.get(x.row!)!;
            return { outcome: "locked", available, locked, version };
          }
          if (x.outcome === "duplicate_client_order_id")
            return { outcome: x.outcome, order_id: x.order_id ?? null };
          return { outcome: x.outcome } as LockOutcome;
        });
        expect(read).toEqual(expected);
      }),
    );
  });

  it("refuses an answer that does not fit the call", () => {
    const answer = (o: number[], b: [string, string, string][] = []): LockAnswer => ({
      mark: null,
      o,
      d: [],
      b,
    });
    expect(() => lockOutcomes(placements(2), answer([-1]))).toThrow(/1 outcomes for 2 placements/);
    expect(() => lockOutcomes(placements(1), answer([0]))).toThrow(/answered 0 for placement 0/);
    expect(() => lockOutcomes(placements(1), answer([-5]))).toThrow(/answered -5/);
  });
});
