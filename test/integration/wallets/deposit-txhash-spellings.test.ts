import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { getDepositAddress } from "../../../src/services/deposit-addresses";
import { recordDepositNotice } from "../../../src/services/deposits";
import { getBalance } from "../../../src/domain/ledger/ledger";
import { createTestUser } from "./fixtures";

const randomTxHash = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The webhook accepts a tx hash with or without "0x"; both spell the same transaction, so the
 * same output reported both ways must be one deposit, credited once.
 */
describe("deposit idempotency across tx hash spellings", () => {
  for (const [asset, confirmations] of [
    ["BTC", 2],
    ["ETH", 12],
  ] as const) {
    it(`credits a ${asset} output once whether its hash carries 0x or not`, async () => {
      const userId = await createTestUser();
      await withDatabase(env, async (db) => {
        const { address } = await getDepositAddress(db, env, "mainnet", userId, asset);
        const hex = randomTxHash();
        const notice = { asset, txHash: hex, vout: 0, address, amount: "1", confirmations };
        const first = await recordDepositNotice(db, notice, SYSTEM_METADATA);
        const second = await recordDepositNotice(
          db,
          { ...notice, txHash: `0x${hex.toUpperCase()}` },
          SYSTEM_METADATA,
        );
        expect([first.creditedNow, second.creditedNow]).toEqual([true, false]);
        expect(second.deposit.id).toBe(first.deposit.id);
        expect((await getBalance(db, userId, asset)).available).toBe(
          asset === "BTC" ? 100_000_000n : 10n ** 18n,
        );
      });
    });
  }
});
