import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { balances, users } from "../../../src/db/schema";
import { reconcileLedgerJob } from "../../../src/jobs/reconcile-ledger";
import { hmacSha256Hex, signaturePayload } from "../../../src/lib/api-key-crypto";
import { Logger } from "../../../src/lib/logger";
import {
  LEDGER_MISMATCH_KINDS,
  reconcileLedger,
  reconcileWithin,
  type ReconciliationReport,
} from "../../../src/services/reconciliation";
import { api, expectError, verifiedUser } from "../auth/helpers";
import { createTestUser, fund } from "./fixtures";

interface CreatedKey {
  key: string;
  secret: string;
}

const KEY_IP = "203.0.113.20";

async function signedFetch(key: CreatedKey, method: string, path: string, body = ""): Promise<Response> {
  const timestamp = String(Date.now());
  const signature = await hmacSha256Hex(key.secret, signaturePayload(timestamp, method, path, body));
  const headers: Record<string, string> = {
    "x-api-key": key.key,
    "x-api-timestamp": timestamp,
    "x-api-signature": signature,
    "idempotency-key": crypto.randomUUID(),
    "cf-connecting-ip": KEY_IP,
  };
  if (body) headers["content-type"] = "application/json";
  return SELF.fetch(`http://x${path}`, { method, headers, body: body || undefined });
}

describe("API keys on wallet routes", () => {
  it("reads balances with `read`, but withdraws only with `withdraw`", async () => {
    const user = await verifiedUser();
    await withDatabase(env, async (db) => {
      await db.update(users).set({ kycStatus: "verified" }).where(eq(users.id, user.id));
      await fund(db, user.id, "BTC", 100_000_000n);
    });
    const create = async (permissions: string[]) => {
      const res = await api("POST", "/api/v1/users/me/api-keys", {
        token: user.tokens.access_token,
        body: { label: "wallet bot", permissions, current_password: user.password, ip_allowlist: [KEY_IP] },
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { api_key: CreatedKey }).api_key;
    };
    const readKey = await create(["read", "trade"]);
    const withdrawKey = await create(["read", "withdraw"]);
    expect((await signedFetch(readKey, "GET", "/api/v1/wallets")).status).toBe(200);
    const body = JSON.stringify({
      asset: "BTC",
      address: "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
      amount: "0.1",
    });
    await expectError(
      await signedFetch(readKey, "POST", "/api/v1/wallets/withdrawals", body),
      403,
      "INSUFFICIENT_PERMISSION",
    );
    // A new withdraw key holds withdrawals for 24 h; then it withdraws.
    await expectError(
      await signedFetch(withdrawKey, "POST", "/api/v1/wallets/withdrawals", body),
      403,
      "WITHDRAWAL_HOLD",
    );
    await withDatabase(env, (db) =>
      db
        .update(users)
        .set({ withdrawalsHeldUntil: new Date(Date.now() - 1_000) })
        .where(eq(users.id, user.id)),
    );
    const ok = await signedFetch(withdrawKey, "POST", "/api/v1/wallets/withdrawals", body);
    expect(ok.status).toBe(201);
  });
});

describe("reconciliation", () => {
  it("the cron job reports a clean ledger", async () => {
    const result = await reconcileLedgerJob.run(env, new Logger("error"));
    expect(result).toMatchObject({ checks: ["ledger", "locks", "fees", "books"] });
    // Only the ledger's own kinds: other tests post raw ledger entries (a lock without an
    // order, a fee without a trade) that the lock and fee checks rightly report.
    const kinds = Object.keys((result as { kinds: Record<string, number> }).kinds);
    expect(kinds.filter((k) => (LEDGER_MISMATCH_KINDS as readonly string[]).includes(k))).toEqual([]);
  });

  it("detects a balance that no longer equals its postings (checked inside a rolled-back transaction)", async () => {
    const userId = await createTestUser();
    let report: ReconciliationReport | undefined;
    await withDatabase(env, async (db) => {
      await fund(db, userId, "ETH", 1_000n);
      await db
        .transaction(async (tx) => {
          // Tamper behind the ledger's back, as a bug or a manual UPDATE would.
          await tx.update(balances).set({ available: 1_001n }).where(eq(balances.userId, userId));
          report = await reconcileWithin(tx);
          throw new Error("roll back");
        })
        .catch(() => {});
      expect((await reconcileLedger(db)).mismatches).toEqual([]);
    });
    expect(report?.ok).toBe(false);
    expect(report?.mismatches).toContainEqual({
      kind: "balance_mismatch",
      userId,
      asset: "ETH",
      balance: { available: 1_001n, locked: 0n },
      postings: { available: 1_000n, locked: 0n },
    });
  });
});
