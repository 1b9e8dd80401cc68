import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { AppError } from "../../../src/lib/errors";
import {
  EXTERNAL_WITHDRAWALS,
  FEE_INCOME,
  getBalance,
  listUserPostings,
  lockFunds,
  postJournalEntry,
  releaseFunds,
  userAvailable,
  userLocked,
} from "../../../src/domain/ledger/ledger";
import { reconcileLedger } from "../../../src/services/reconciliation";
import { createTestUser, fund } from "./fixtures";

describe("ledger", () => {
  it("posts balanced entries, locks and releases, and keeps balances equal to postings", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      await fund(db, userId, "BTC", 1_000n);
      await lockFunds(db, {
        userId,
        asset: "BTC",
        amount: 400n,
        type: "test.lock",
        reference: crypto.randomUUID(),
      });
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 600n, locked: 400n });
      await releaseFunds(db, {
        userId,
        asset: "BTC",
        amount: 100n,
        type: "test.release",
        reference: crypto.randomUUID(),
      });
      await postJournalEntry(db, {
        type: "test.send",
        reference: crypto.randomUUID(),
        postings: [
          { account: userLocked(userId), asset: "BTC", amount: -300n },
          { account: EXTERNAL_WITHDRAWALS, asset: "BTC", amount: 290n },
          { account: FEE_INCOME, asset: "BTC", amount: 10n },
        ],
      });
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 700n, locked: 0n });
      const history = await listUserPostings(db, userId, { limit: 100 });
      expect(history.items.map((i) => i.amount).reduce((a, b) => a + b, 0n)).toBe(700n);
      expect((await reconcileLedger(db)).mismatches).toEqual([]);
    });
  });

  it("refuses an unbalanced entry and an overspend, leaving nothing behind", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      await fund(db, userId, "ETH", 50n);
      await expect(
        postJournalEntry(db, {
          type: "test.bad",
          reference: crypto.randomUUID(),
          postings: [{ account: userAvailable(userId), asset: "ETH", amount: 1n }],
        }),
      ).rejects.toMatchObject({ code: "LEDGER_UNBALANCED" });
      const ref = crypto.randomUUID();
      const err = await lockFunds(db, {
        userId,
        asset: "ETH",
        amount: 51n,
        type: "test.lock",
        reference: ref,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe("INSUFFICIENT_FUNDS");
      // The failed entry left no row: the same reference can still be used.
      const ok = await lockFunds(db, {
        userId,
        asset: "ETH",
        amount: 50n,
        type: "test.lock",
        reference: ref,
      });
      expect(ok.applied).toBe(true);
      expect(await getBalance(db, userId, "ETH")).toEqual({ available: 0n, locked: 50n });
    });
  });

  it("applies an entry once however often it is replayed", async () => {
    const userId = await createTestUser();
    const reference = crypto.randomUUID();
    await withDatabase(env, async (db) => {
      await fund(db, userId, "USDT", 100n);
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          withDatabase(env, (db2) =>
            lockFunds(db2, { userId, asset: "USDT", amount: 60n, type: "test.lock", reference }),
          ),
        ),
      );
      expect(results.filter((r) => r.applied)).toHaveLength(1);
      expect(await getBalance(db, userId, "USDT")).toEqual({ available: 40n, locked: 60n });
    });
  });

  it("lets exactly one of 20 concurrent spends of the whole balance through", async () => {
    const userId = await createTestUser();
    await withDatabase(env, (db) => fund(db, userId, "USDC", 777n));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        withDatabase(env, (db) =>
          lockFunds(db, {
            userId,
            asset: "USDC",
            amount: 777n,
            type: "test.lock",
            reference: crypto.randomUUID(),
          }),
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === "rejected") expect((o.reason as AppError).code).toBe("INSUFFICIENT_FUNDS");
    }
    expect(await withDatabase(env, (db) => getBalance(db, userId, "USDC"))).toEqual({
      available: 0n,
      locked: 777n,
    });
  });
});
