import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { adjustBalance } from "../../../src/services/adjustments";
import { getBalance } from "../../../src/domain/ledger/ledger";
import { createTestUser } from "./fixtures";

/**
 * An adjustment's reference (the admin's Idempotency-Key) makes a retry a no-op. Reused for a
 * DIFFERENT adjustment (after the 24 h Redis entry expired), it must be refused, not answered
 * 201 as if the new adjustment had been applied while nothing moved.
 */
describe("adjustment reference reuse", () => {
  it("replays the same adjustment, refuses another one under the same reference", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    const adminId = await createTestUser({ role: "admin" });
    const reference = `${adminId}:${crypto.randomUUID()}`;
    await withDatabase(env, async (db) => {
      const input = { userId: alice, asset: "USDC", amount: "10", reason: "goodwill", reference };
      const first = await adjustBalance(db, input, adminId, SYSTEM_METADATA);
      const again = await adjustBalance(db, input, adminId, SYSTEM_METADATA);
      expect([first.applied, again.applied]).toEqual([true, false]);
      await expect(
        adjustBalance(db, { ...input, userId: bob }, adminId, SYSTEM_METADATA),
      ).rejects.toMatchObject({ status: 422, code: "IDEMPOTENCY_KEY_REUSED" });
      await expect(
        adjustBalance(db, { ...input, amount: "20" }, adminId, SYSTEM_METADATA),
      ).rejects.toMatchObject({ status: 422, code: "IDEMPOTENCY_KEY_REUSED" });
      await expect(
        adjustBalance(db, { ...input, asset: "USDT" }, adminId, SYSTEM_METADATA),
      ).rejects.toMatchObject({ status: 422, code: "IDEMPOTENCY_KEY_REUSED" });
      expect(await getBalance(db, alice, "USDC")).toEqual({ available: 10_000_000n, locked: 0n });
      expect(await getBalance(db, bob, "USDC")).toEqual({ available: 0n, locked: 0n });
    });
  });
});
