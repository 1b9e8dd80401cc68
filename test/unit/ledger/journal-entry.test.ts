import { describe, expect, it } from "vitest";
import {
  ADJUSTMENTS,
  EXTERNAL_DEPOSITS,
  FEE_INCOME,
  journalEntryStatement,
  userAvailable,
} from "../../../src/domain/ledger/ledger";

const user = "0190a5c0-0000-7000-8000-000000000001";
const btcFee = [
  { account: userAvailable(user), asset: "BTC", amount: -5n },
  { account: FEE_INCOME, asset: "BTC", amount: 5n },
];
const entry = (postings: typeof btcFee) => () =>
  journalEntryStatement({ type: "test.fees", reference: crypto.randomUUID(), postings });

describe("a journal entry's postings (no foreign keys: decision 0015)", () => {
  it("refuses an asset that moves no user's balance, before any SQL", () => {
    const stray = [
      { account: ADJUSTMENTS, asset: "NOPE", amount: -3n },
      { account: EXTERNAL_DEPOSITS, asset: "NOPE", amount: 3n },
    ];
    expect(entry([...btcFee, ...stray])).toThrow(/moves NOPE on no user's balance/);
  });

  it("takes an entry whose every asset moves a user's balance", () => {
    expect(entry(btcFee)).not.toThrow();
  });
});
