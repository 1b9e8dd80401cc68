import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { adjustBalance } from "../../../src/services/adjustments";
import { getBalance } from "../../../src/domain/ledger/ledger";
import { walletConfig } from "../../../src/services/wallet-config";
import { requestWithdrawal, transitionWithdrawal, type Actor } from "../../../src/services/withdrawals";
import { createTestUser, fund } from "./fixtures";

const config = walletConfig(env);
const ETH_ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const BTC_ADDRESS = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
const user = (id: string): Actor => ({ id, type: "user" });

describe("withdrawals", () => {
  it("locks at once, waits for approval above the threshold, and settles fee and amount when sent", async () => {
    const userId = await createTestUser();
    const adminId = await createTestUser({ role: "admin" });
    const admin: Actor = { id: adminId, type: "admin" };
    await withDatabase(env, async (db) => {
      await fund(db, userId, "ETH", 20n * 10n ** 18n);
      const request = {
        userId,
        asset: "ETH",
        address: ETH_ADDRESS,
        amount: "12.5",
        idempotencyKey: crypto.randomUUID(),
      };
      const { withdrawal } = await requestWithdrawal(db, config, request, user(userId), SYSTEM_METADATA);
      expect(withdrawal.status).toBe("pending_approval");
      expect(await getBalance(db, userId, "ETH")).toEqual({
        available: 75n * 10n ** 17n,
        locked: 125n * 10n ** 17n,
      });

      const replay = await requestWithdrawal(db, config, request, user(userId), SYSTEM_METADATA);
      expect(replay).toMatchObject({ created: false, withdrawal: { id: withdrawal.id } });

      await expect(
        transitionWithdrawal(
          db,
          "sent",
          { withdrawalId: withdrawal.id, txHash: "0xabc" },
          admin,
          SYSTEM_METADATA,
        ),
      ).rejects.toMatchObject({ status: 409, code: "INVALID_STATE" });
      const approved = await transitionWithdrawal(
        db,
        "approve",
        { withdrawalId: withdrawal.id },
        admin,
        SYSTEM_METADATA,
      );
      expect(approved.status).toBe("approved");
      const sent = await transitionWithdrawal(
        db,
        "sent",
        { withdrawalId: withdrawal.id, txHash: "0xabc" },
        admin,
        SYSTEM_METADATA,
      );
      expect(sent).toMatchObject({ status: "sent", txHash: "0xabc" });
      expect(await getBalance(db, userId, "ETH")).toEqual({ available: 75n * 10n ** 17n, locked: 0n });
      const done = await transitionWithdrawal(
        db,
        "complete",
        { withdrawalId: withdrawal.id },
        admin,
        SYSTEM_METADATA,
      );
      expect(done.status).toBe("completed");
      // Idempotent: completing again changes nothing.
      expect(
        (await transitionWithdrawal(db, "complete", { withdrawalId: withdrawal.id }, admin, SYSTEM_METADATA))
          .status,
      ).toBe("completed");
    });
  });

  it("auto-approves small withdrawals and releases funds on cancel or reject", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      await fund(db, userId, "BTC", 100_000_000n);
      const small = {
        userId,
        asset: "BTC",
        address: BTC_ADDRESS,
        amount: "0.01",
        idempotencyKey: crypto.randomUUID(),
      };
      const { withdrawal } = await requestWithdrawal(db, config, small, user(userId), SYSTEM_METADATA);
      expect(withdrawal.status).toBe("approved");
      expect(withdrawal.fee).toBe(10_000n);
      const cancelled = await transitionWithdrawal(
        db,
        "cancel",
        { withdrawalId: withdrawal.id, ownerId: userId },
        user(userId),
        SYSTEM_METADATA,
      );
      expect(cancelled.status).toBe("cancelled");
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 100_000_000n, locked: 0n });
    });
  });

  it("refuses bad addresses, amounts below the minimum, over the daily limit, and pending KYC", async () => {
    const userId = await createTestUser();
    const pending = await createTestUser({ kyc: "pending" });
    await withDatabase(env, async (db) => {
      await fund(db, userId, "BTC", 10n * 100_000_000n);
      await fund(db, pending, "BTC", 100_000_000n);
      const base = { userId, asset: "BTC", address: BTC_ADDRESS, amount: "0.01" };
      const attempt = (over: Partial<typeof base>) =>
        requestWithdrawal(
          db,
          config,
          { ...base, ...over, idempotencyKey: crypto.randomUUID() },
          user(userId),
          SYSTEM_METADATA,
        );
      await expect(attempt({ address: ETH_ADDRESS })).rejects.toMatchObject({ code: "INVALID_ADDRESS" });
      await expect(attempt({ amount: "0.0001" })).rejects.toMatchObject({ code: "BELOW_MINIMUM" });
      await expect(attempt({ amount: "0.000000001" })).rejects.toMatchObject({ code: "INVALID_AMOUNT" });
      await expect(attempt({ amount: "5.00000001" })).rejects.toMatchObject({ code: "DAILY_LIMIT_EXCEEDED" });
      await attempt({ amount: "4" });
      await expect(attempt({ amount: "1.00000001" })).rejects.toMatchObject({ code: "DAILY_LIMIT_EXCEEDED" });
      await expect(attempt({ userId: pending })).rejects.toMatchObject({ status: 403, code: "KYC_REQUIRED" });
      expect(await getBalance(db, pending, "BTC")).toEqual({ available: 100_000_000n, locked: 0n });
    });
  });

  it("accepts exactly one of 20 concurrent withdrawals of the whole balance", async () => {
    const userId = await createTestUser();
    await withDatabase(env, (db) => fund(db, userId, "USDT", 5_000_000_000n));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        withDatabase(env, (db) =>
          requestWithdrawal(
            db,
            config,
            {
              userId,
              asset: "USDT",
              address: ETH_ADDRESS,
              amount: "5000",
              idempotencyKey: crypto.randomUUID(),
            },
            user(userId),
            SYSTEM_METADATA,
          ),
        ),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === "rejected") expect(o.reason).toMatchObject({ code: "INSUFFICIENT_FUNDS" });
    expect(await withDatabase(env, (db) => getBalance(db, userId, "USDT"))).toEqual({
      available: 0n,
      locked: 5_000_000_000n,
    });
  });

  it("lets only one of a racing user cancel and admin send win, and the funds follow the winner", async () => {
    const adminId = await createTestUser({ role: "admin" });
    for (let round = 0; round < 5; round++) {
      const userId = await createTestUser();
      const id = await withDatabase(env, async (db) => {
        await fund(db, userId, "BTC", 100_000_000n);
        const { withdrawal } = await requestWithdrawal(
          db,
          config,
          { userId, asset: "BTC", address: BTC_ADDRESS, amount: "0.1", idempotencyKey: crypto.randomUUID() },
          user(userId),
          SYSTEM_METADATA,
        );
        return withdrawal.id;
      });
      const [cancel, send] = await Promise.allSettled([
        withDatabase(env, (db) =>
          transitionWithdrawal(
            db,
            "cancel",
            { withdrawalId: id, ownerId: userId },
            user(userId),
            SYSTEM_METADATA,
          ),
        ),
        withDatabase(env, (db) =>
          transitionWithdrawal(
            db,
            "sent",
            { withdrawalId: id, txHash: "0xbeef" },
            { id: adminId, type: "admin" },
            SYSTEM_METADATA,
          ),
        ),
      ]);
      expect([cancel.status, send.status].sort()).toEqual(["fulfilled", "rejected"]);
      const balance = await withDatabase(env, (db) => getBalance(db, userId, "BTC"));
      expect(balance).toEqual(
        cancel.status === "fulfilled"
          ? { available: 100_000_000n, locked: 0n }
          : { available: 90_000_000n, locked: 0n },
      );
    }
  });

  it("hides another user's withdrawal (404) and changes nothing", async () => {
    const alice = await createTestUser();
    const mallory = await createTestUser();
    await withDatabase(env, async (db) => {
      await fund(db, alice, "BTC", 100_000_000n);
      const { withdrawal } = await requestWithdrawal(
        db,
        config,
        {
          userId: alice,
          asset: "BTC",
          address: BTC_ADDRESS,
          amount: "0.1",
          idempotencyKey: crypto.randomUUID(),
        },
        user(alice),
        SYSTEM_METADATA,
      );
      await expect(
        transitionWithdrawal(
          db,
          "cancel",
          { withdrawalId: withdrawal.id, ownerId: mallory },
          user(mallory),
          SYSTEM_METADATA,
        ),
      ).rejects.toMatchObject({ status: 404 });
      expect(await getBalance(db, alice, "BTC")).toEqual({ available: 90_000_000n, locked: 10_000_000n });
    });
  });
});

describe("admin adjustments", () => {
  it("credits and debits with a reason, never below zero", async () => {
    const userId = await createTestUser();
    const adminId = await createTestUser({ role: "admin" });
    await withDatabase(env, async (db) => {
      const up = await adjustBalance(
        db,
        { userId, asset: "USDC", amount: "10", reason: "goodwill" },
        adminId,
        SYSTEM_METADATA,
      );
      expect(up.balance).toEqual({ available: 10_000_000n, locked: 0n });
      await expect(
        adjustBalance(
          db,
          { userId, asset: "USDC", amount: "-10.000001", reason: "fix" },
          adminId,
          SYSTEM_METADATA,
        ),
      ).rejects.toMatchObject({ code: "INSUFFICIENT_FUNDS" });
      const down = await adjustBalance(
        db,
        { userId, asset: "USDC", amount: "-4", reason: "fix" },
        adminId,
        SYSTEM_METADATA,
      );
      expect(down.balance).toEqual({ available: 6_000_000n, locked: 0n });
    });
  });
});
