import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { deposits, eventOutbox } from "../../../src/db/schema";
import { SYSTEM_METADATA } from "../../../src/http/request-metadata";
import { isValidAddress } from "../../../src/lib/chain-addresses";
import { getDepositAddress } from "../../../src/services/deposit-addresses";
import { recordDepositNotice } from "../../../src/services/deposits";
import { getBalance } from "../../../src/domain/ledger/ledger";
import { createTestUser } from "./fixtures";

const randomTxHash = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");

describe("deposit addresses", () => {
  it("derives a stable address per user and chain; ERC-20 tokens share the Ethereum address", async () => {
    const alice = await createTestUser();
    const bob = await createTestUser();
    await withDatabase(env, async (db) => {
      const [btc1, btc2] = await Promise.all([
        getDepositAddress(db, env, "mainnet", alice, "BTC"),
        getDepositAddress(db, env, "mainnet", alice, "BTC"),
      ]);
      expect(btc1).toEqual(btc2);
      expect(btc1.address).toMatch(/^bc1q/);
      expect(isValidAddress("bitcoin", btc1.address, "mainnet")).toBe(true);
      const eth = await getDepositAddress(db, env, "mainnet", alice, "ETH");
      expect(eth.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect((await getDepositAddress(db, env, "mainnet", alice, "USDT")).address).toBe(eth.address);
      expect((await getDepositAddress(db, env, "mainnet", alice, "USDC")).address).toBe(eth.address);
      const bobs = await getDepositAddress(db, env, "mainnet", bob, "BTC");
      expect(bobs.address).not.toBe(btc1.address);
      expect(bobs.derivationIndex).not.toBe(btc1.derivationIndex);
      await expect(getDepositAddress(db, env, "mainnet", alice, "DOGE")).rejects.toMatchObject({
        status: 404,
      });
    });
  });
});

describe("deposit notices", () => {
  it("stays pending below the confirmations, then credits exactly once however often it is repeated", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      const { address } = await getDepositAddress(db, env, "mainnet", userId, "BTC");
      const notice = {
        asset: "BTC",
        txHash: randomTxHash(),
        vout: 1,
        address,
        amount: "0.25",
        confirmations: 1,
      };
      const first = await recordDepositNotice(db, notice, SYSTEM_METADATA);
      expect(first.deposit.status).toBe("pending");
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 0n, locked: 0n });

      const confirmed = { ...notice, confirmations: 2 };
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () =>
          withDatabase(env, (db2) => recordDepositNotice(db2, confirmed, SYSTEM_METADATA)),
        ),
      );
      expect(outcomes.filter((o) => o.creditedNow)).toHaveLength(1);
      for (const o of outcomes) expect(o.deposit.status).toBe("credited");
      expect(await recordDepositNotice(db, { ...notice, confirmations: 9 }, SYSTEM_METADATA)).toMatchObject({
        creditedNow: false,
      });
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 25_000_000n, locked: 0n });
      const rows = await db.select().from(deposits).where(eq(deposits.txHash, notice.txHash));
      expect(rows).toHaveLength(1);
    });
  });

  it("credits an ERC-20 deposit to the token's balance, matching the address case-insensitively", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      const { address } = await getDepositAddress(db, env, "mainnet", userId, "USDT");
      const txHash = `0x${randomTxHash()}`;
      const outcome = await recordDepositNotice(
        db,
        {
          asset: "USDT",
          txHash,
          vout: 0,
          address: address.toLowerCase(),
          amount: "100.5",
          confirmations: 12,
        },
        SYSTEM_METADATA,
      );
      expect(outcome.creditedNow).toBe(true);
      expect(await getBalance(db, userId, "USDT")).toEqual({ available: 100_500_000n, locked: 0n });
      expect(await getBalance(db, userId, "ETH")).toEqual({ available: 0n, locked: 0n });
      const events = await db
        .select()
        .from(eventOutbox)
        .where(and(eq(eventOutbox.stream, "wallet:events")));
      const mine = events.filter(
        (e) => (e.envelope.payload as { tx_hash?: string }).tx_hash === txHash.toLowerCase(),
      );
      expect(mine.map((e) => e.envelope.type)).toEqual(["deposit.credited"]);
    });
  });

  it("refuses unknown addresses, bad amounts and a conflicting report of the same output", async () => {
    const userId = await createTestUser();
    await withDatabase(env, async (db) => {
      const { address } = await getDepositAddress(db, env, "mainnet", userId, "BTC");
      const base = { asset: "BTC", txHash: randomTxHash(), vout: 0, address, amount: "1", confirmations: 0 };
      await expect(
        recordDepositNotice(
          db,
          { ...base, address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu" },
          SYSTEM_METADATA,
        ),
      ).rejects.toMatchObject({ status: 422, code: "UNKNOWN_DEPOSIT_ADDRESS" });
      await expect(
        recordDepositNotice(db, { ...base, amount: "0.000000001" }, SYSTEM_METADATA),
      ).rejects.toMatchObject({
        status: 422,
        code: "INVALID_AMOUNT",
      });
      await recordDepositNotice(db, base, SYSTEM_METADATA);
      await expect(recordDepositNotice(db, { ...base, amount: "2" }, SYSTEM_METADATA)).rejects.toMatchObject({
        status: 409,
        code: "DEPOSIT_MISMATCH",
      });
      expect(await getBalance(db, userId, "BTC")).toEqual({ available: 0n, locked: 0n });
    });
  });
});
