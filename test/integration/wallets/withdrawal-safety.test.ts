import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { users, withdrawalAddresses } from "../../../src/db/schema";
import {
  PASSWORD,
  api,
  endWithdrawalHold,
  enableTwoFactor,
  expectError,
  freshTotp,
  login,
  verifiedUser,
} from "../auth/helpers";
import { fund } from "./fixtures";

const BTC_DEST = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
const ETH_DEST = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";
const OTHER_ETH = "0x52908400098527886E0F7030069857D2E4169EE7";

interface Withdrawal {
  id: string;
  status: string;
}

/** A signed-in user with verified email and KYC, funded in `asset` (minor units). */
async function fundedUser(asset = "BTC", amount = 100_000_000n, role: "user" | "admin" = "user") {
  const user = await verifiedUser();
  await withDatabase(env, async (db) => {
    await db.update(users).set({ kycStatus: "verified", role }).where(eq(users.id, user.id));
    if (amount > 0n) await fund(db, user.id, asset, amount);
  });
  // A fresh token carries the role.
  const token = role === "admin" ? (await login(user.email)).access_token : user.tokens.access_token;
  return { id: user.id, email: user.email, token };
}

function withdraw(token: string, body: Record<string, unknown>) {
  return api("POST", "/api/v1/wallets/withdrawals", {
    token,
    body,
    headers: { "idempotency-key": crypto.randomUUID() },
  });
}

async function withdrawn(res: Response): Promise<Withdrawal> {
  expect(res.status).toBe(201);
  return ((await res.json()) as { withdrawal: Withdrawal }).withdrawal;
}

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

describe("approval over a rolling 24 h total", () => {
  it("twenty small withdrawals: those past the BTC threshold (0.5) wait for approval", async () => {
    const user = await fundedUser("BTC", 100_000_000n);
    const statuses: string[] = [];
    for (let i = 0; i < 20; i++) {
      const w = await withdrawn(
        await withdraw(user.token, { asset: "BTC", address: BTC_DEST, amount: "0.03" }),
      );
      statuses.push(w.status);
    }
    // 16 × 0.03 = 0.48 stays under 0.5; the 17th makes 0.51.
    expect(statuses.slice(0, 16)).toEqual(Array(16).fill("approved"));
    expect(statuses.slice(16)).toEqual(Array(4).fill("pending_approval"));
  });
});

describe("the 24 h withdrawal hold", () => {
  it("follows a password change, and lifts after a day", async () => {
    const user = await fundedUser("BTC");
    const body = { asset: "BTC", address: BTC_DEST, amount: "0.01" };
    await withdrawn(await withdraw(user.token, body));
    const changed = await api("POST", "/api/v1/users/me/password", {
      token: user.token,
      body: { current_password: PASSWORD, new_password: "a changed passphrase" },
    });
    expect(changed.status).toBe(200);
    const error = await expectError(await withdraw(user.token, body), 403, "WITHDRAWAL_HOLD");
    const heldUntil = Date.parse((error.error.details as { held_until: string }).held_until);
    expect(heldUntil - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    await endWithdrawalHold(user.id);
    await withdrawn(await withdraw(user.token, body));
  });

  it("follows enabling 2FA; then a signed-in withdrawal needs a fresh code", async () => {
    const user = await fundedUser("BTC");
    const { secret } = await enableTwoFactor(user.token);
    const body = { asset: "BTC", address: BTC_DEST, amount: "0.01" };
    await expectError(await withdraw(user.token, body), 403, "WITHDRAWAL_HOLD");
    await endWithdrawalHold(user.id);
    await expectError(await withdraw(user.token, body), 403, "TWO_FACTOR_REQUIRED");
    await expectError(
      await withdraw(user.token, { ...body, totp_code: "000000" }),
      403,
      "INVALID_TWO_FACTOR_CODE",
    );
    const code = await freshTotp(user.id, secret);
    await withdrawn(await withdraw(user.token, { ...body, totp_code: code }));
    await expectError(
      await withdraw(user.token, { ...body, totp_code: code }),
      403,
      "INVALID_TWO_FACTOR_CODE",
    );
  });
});

describe("the withdrawal address allow-list", () => {
  it("lists, adds (usable after 24 h), enforces with allowlist_only, removes", async () => {
    const user = await fundedUser("ETH", 10n ** 18n);
    const token = user.token;
    const list = async () =>
      (await (await api("GET", "/api/v1/wallets/withdrawal-addresses", { token })).json()) as {
        allowlist_only: boolean;
        addresses: { id: string; address: string; usable: boolean; usable_after: string }[];
      };
    expect(await list()).toEqual({ allowlist_only: false, addresses: [] });

    const added = await api("POST", "/api/v1/wallets/withdrawal-addresses", {
      token,
      body: { asset: "ETH", address: ETH_DEST, label: "cold wallet" },
    });
    expect(added.status).toBe(201);
    const { address } = (await added.json()) as {
      address: { id: string; usable: boolean; usable_after: string };
    };
    expect(address.usable).toBe(false);
    expect(Date.parse(address.usable_after) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    // The same address in another case is the same entry.
    await expectError(
      await api("POST", "/api/v1/wallets/withdrawal-addresses", {
        token,
        body: { asset: "ETH", address: ETH_DEST.toLowerCase() },
      }),
      409,
    );
    await expectError(
      await api("POST", "/api/v1/wallets/withdrawal-addresses", {
        token,
        body: { asset: "ETH", address: "0x123" },
      }),
      422,
      "INVALID_ADDRESS",
    );

    // Off by default: any address works.
    const body = { asset: "ETH", address: OTHER_ETH, amount: "0.02" };
    await withdrawn(await withdraw(token, body));

    const on = await api("PUT", "/api/v1/wallets/withdrawal-addresses/settings", {
      token,
      body: { allowlist_only: true },
    });
    expect(await on.json()).toMatchObject({ allowlist_only: true });
    await expectError(await withdraw(token, body), 403, "ADDRESS_NOT_ALLOWLISTED");
    await expectError(await withdraw(token, { ...body, address: ETH_DEST }), 403, "ADDRESS_NOT_YET_USABLE");
    // A day later (the stored waiting period moved back instead of sleeping).
    await withDatabase(env, (db) =>
      db
        .update(withdrawalAddresses)
        .set({ usableAfter: new Date(Date.now() - 1_000) })
        .where(eq(withdrawalAddresses.id, address.id)),
    );
    expect((await list()).addresses[0]!.usable).toBe(true);
    await withdrawn(await withdraw(token, { ...body, address: ETH_DEST.toLowerCase() }));
    // Not for another asset on the same chain.
    await withDatabase(env, (db) => fund(db, user.id, "USDT", 100_000_000n));
    await expectError(
      await withdraw(token, { asset: "USDT", address: ETH_DEST, amount: "20" }),
      403,
      "ADDRESS_NOT_ALLOWLISTED",
    );

    // Another user cannot remove it; the owner can, and then it no longer counts.
    const mallory = await verifiedUser();
    await expectError(
      await api("DELETE", `/api/v1/wallets/withdrawal-addresses/${address.id}`, {
        token: mallory.tokens.access_token,
      }),
      404,
    );
    expect(
      (await api("DELETE", `/api/v1/wallets/withdrawal-addresses/${address.id}`, { token })).status,
    ).toBe(204);
    await expectError(
      await api("DELETE", `/api/v1/wallets/withdrawal-addresses/${address.id}`, { token }),
      404,
    );
    await expectError(await withdraw(token, { ...body, address: ETH_DEST }), 403, "ADDRESS_NOT_ALLOWLISTED");

    // Switching it off holds withdrawals for 24 h.
    const off = await api("PUT", "/api/v1/wallets/withdrawal-addresses/settings", {
      token,
      body: { allowlist_only: false },
    });
    expect(await off.json()).toMatchObject({
      allowlist_only: false,
      withdrawals_held_until: expect.any(String),
    });
    await expectError(await withdraw(token, body), 403, "WITHDRAWAL_HOLD");
  });

  it("with 2FA on, adding an address and switching allowlist_only off need a code", async () => {
    const user = await fundedUser("BTC");
    const { secret } = await enableTwoFactor(user.token);
    const add = (extra: Record<string, unknown> = {}) =>
      api("POST", "/api/v1/wallets/withdrawal-addresses", {
        token: user.token,
        body: { asset: "BTC", address: BTC_DEST, ...extra },
      });
    await expectError(await add(), 403, "TWO_FACTOR_REQUIRED");
    expect((await add({ totp_code: await freshTotp(user.id, secret) })).status).toBe(201);
    const settings = (body: Record<string, unknown>) =>
      api("PUT", "/api/v1/wallets/withdrawal-addresses/settings", { token: user.token, body });
    expect((await settings({ allowlist_only: true })).status).toBe(200);
    await expectError(await settings({ allowlist_only: false }), 403, "TWO_FACTOR_REQUIRED");
    expect(
      (await settings({ allowlist_only: false, totp_code: await freshTotp(user.id, secret) })).status,
    ).toBe(200);
  });
});

describe("four eyes on withdrawal approval", () => {
  it("an admin cannot approve their own withdrawal; another admin can", async () => {
    const admin = await fundedUser("BTC", 100_000_000n, "admin");
    // Small, but an admin's own withdrawal always waits for approval.
    const w = await withdrawn(
      await withdraw(admin.token, { asset: "BTC", address: BTC_DEST, amount: "0.01" }),
    );
    expect(w.status).toBe("pending_approval");
    await expectError(
      await api("POST", `/api/v1/admin/withdrawals/${w.id}/approve`, { token: admin.token }),
      403,
      "FOUR_EYES_REQUIRED",
    );
    const approved = await api("POST", `/api/v1/admin/withdrawals/${w.id}/approve`, { token: adminToken });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ withdrawal: { status: "approved" } });
  });

  it("the admin who credited a user cannot approve that user's withdrawal of it", async () => {
    const user = await fundedUser("USDT", 0n);
    const credit = await api("POST", "/api/v1/admin/wallets/adjustments", {
      token: adminToken,
      body: { user_id: user.id, asset: "USDT", amount: "500", reason: "goodwill credit" },
    });
    expect(credit.status).toBe(201);
    const w = await withdrawn(
      await withdraw(user.token, { asset: "USDT", address: ETH_DEST, amount: "100" }),
    );
    expect(w.status).toBe("pending_approval"); // far under the 10,000 threshold
    await expectError(
      await api("POST", `/api/v1/admin/withdrawals/${w.id}/approve`, { token: adminToken }),
      403,
      "FOUR_EYES_REQUIRED",
    );
    const second = await fundedUser("BTC", 1n, "admin");
    const approved = await api("POST", `/api/v1/admin/withdrawals/${w.id}/approve`, { token: second.token });
    expect(approved.status).toBe(200);
  });
});
