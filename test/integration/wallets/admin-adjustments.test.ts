// Admin balance adjustments (with a reason, never an overdraft) and a clean reconciliation.
import { env } from "cloudflare:workers";
import { describe, expect, it, beforeAll } from "vitest";
import { LEDGER_MISMATCH_KINDS } from "../../../src/services/reconciliation";
import { api, expectError, login } from "../auth/helpers";
import { walletUser } from "./wallet-api";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

describe("admin adjustments and reconciliation", () => {
  it("adjusts with a reason, refuses overdrafts, and reconciles clean", async () => {
    const user = await walletUser();
    const credit = await api("POST", "/api/v1/admin/wallets/adjustments", {
      token: adminToken,
      body: { user_id: user.id, asset: "USDT", amount: "25.5", reason: "promo credit" },
    });
    expect(credit.status).toBe(201);
    expect(await credit.json()).toMatchObject({
      adjustment: { amount: "25.500000", balance: { available: "25.500000" } },
    });
    await expectError(
      await api("POST", "/api/v1/admin/wallets/adjustments", {
        token: adminToken,
        body: { user_id: user.id, asset: "USDT", amount: "-30", reason: "correction" },
      }),
      422,
      "INSUFFICIENT_FUNDS",
    );
    await expectError(
      await api("POST", "/api/v1/admin/wallets/adjustments", {
        token: user.token,
        body: { user_id: user.id, asset: "USDT", amount: "1000", reason: "me" },
      }),
      403,
    );
    const report = await api("GET", "/api/v1/admin/reconciliation", { token: adminToken });
    expect(report.status).toBe(200);
    const body = (await report.json()) as {
      checks: string[];
      assets: { asset: string; sum: string }[];
      mismatches: { kind: string }[];
    };
    expect(body.checks).toEqual(["ledger", "locks", "fees", "books"]);
    // Only the ledger's own kinds: other tests post raw ledger entries (a lock without an
    // order, a fee without a trade) that the lock and fee checks rightly report.
    const ledgerKinds: readonly string[] = LEDGER_MISMATCH_KINDS;
    expect(body.mismatches.filter((m) => ledgerKinds.includes(m.kind))).toEqual([]);
    expect(body.assets.find((a) => a.asset === "USDT")!.sum).toBe("0.000000");
  });
});
