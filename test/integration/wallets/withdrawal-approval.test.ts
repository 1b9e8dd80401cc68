// Admins approve, send, complete or reject withdrawals; the ledger, events and fee follow.
import { env } from "cloudflare:workers";
import { describe, expect, it, beforeAll } from "vitest";
import { api, expectError, login } from "../auth/helpers";
import {
  BTC_DEST,
  ETH_DEST,
  type WithdrawalBody,
  randomHex,
  walletUser,
  balances,
  deposit,
  withdraw,
  walletEvents,
} from "./wallet-api";

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

describe("withdrawal approval by admins", () => {
  it("runs requested → pending approval → approved → sent → completed, with events and fee", async () => {
    const user = await walletUser();
    await deposit(user.token, "ETH", "15");
    const res = await withdraw(user.token, { asset: "ETH", address: ETH_DEST, amount: "12" });
    const { withdrawal } = (await res.json()) as WithdrawalBody;
    expect(withdrawal).toMatchObject({
      status: "pending_approval",
      fee: "0.002000000000000000",
      net_amount: "11.998000000000000000",
    });

    await expectError(
      await api("POST", `/api/v1/admin/withdrawals/${withdrawal.id}/approve`, { token: user.token }),
      403,
    );
    const queue = await api("GET", `/api/v1/admin/withdrawals?status=pending_approval&user_id=${user.id}`, {
      token: adminToken,
    });
    expect(((await queue.json()) as { withdrawals: { id: string }[] }).withdrawals.map((w) => w.id)).toEqual([
      withdrawal.id,
    ]);

    const path = `/api/v1/admin/withdrawals/${withdrawal.id}`;
    await expectError(
      await api("POST", `${path}/sent`, { token: adminToken, body: { tx_hash: randomHex() } }),
      409,
      "INVALID_STATE",
    );
    expect((await api("POST", `${path}/approve`, { token: adminToken })).status).toBe(200);
    const sent = await api("POST", `${path}/sent`, {
      token: adminToken,
      body: { tx_hash: `0x${randomHex()}` },
    });
    expect(((await sent.json()) as WithdrawalBody).withdrawal.status).toBe("sent");
    await expectError(
      await api("POST", `/api/v1/wallets/withdrawals/${withdrawal.id}/cancel`, { token: user.token }),
      409,
      "INVALID_STATE",
    );
    const done = await api("POST", `${path}/complete`, { token: adminToken });
    expect(((await done.json()) as WithdrawalBody).withdrawal).toMatchObject({
      status: "completed",
      user_id: user.id,
    });
    expect((await balances(user.token)).ETH).toMatchObject({
      available: "3.000000000000000000",
      locked: "0.000000000000000000",
    });
    expect(await walletEvents(user.id)).toEqual([
      "deposit.credited",
      "withdrawal.requested",
      "withdrawal.approved",
      "withdrawal.sent",
      "withdrawal.completed",
    ]);

    const history = await api("GET", "/api/v1/wallets/transactions?asset=ETH&limit=2", { token: user.token });
    const page1 = (await history.json()) as {
      transactions: { type: string; amount: string }[];
      next_cursor: string;
    };
    expect(page1.transactions.map((t) => t.type)).toEqual(["withdrawal.send", "withdrawal.lock"]);
    expect(page1.transactions[0]!.amount).toBe("-12.000000000000000000");
    const more = await api(
      "GET",
      `/api/v1/wallets/transactions?asset=ETH&limit=10&cursor=${page1.next_cursor}`,
      { token: user.token },
    );
    const page2 = (await more.json()) as { transactions: { type: string }[]; next_cursor: string | null };
    expect(page2.transactions.map((t) => t.type)).toEqual(["withdrawal.lock", "deposit"]);
    expect(page2.next_cursor).toBeNull();
    const deposits = await api("GET", "/api/v1/wallets/transactions?type=deposit", { token: user.token });
    expect(((await deposits.json()) as { transactions: unknown[] }).transactions).toHaveLength(1);
  });

  it("rejects with a reason and releases the funds", async () => {
    const user = await walletUser();
    await deposit(user.token, "BTC", "2");
    const { withdrawal } = (await (
      await withdraw(user.token, { asset: "BTC", address: BTC_DEST, amount: "1.5" })
    ).json()) as WithdrawalBody;
    expect(withdrawal.status).toBe("pending_approval");
    const rejected = await api("POST", `/api/v1/admin/withdrawals/${withdrawal.id}/reject`, {
      token: adminToken,
      body: { reason: "destination flagged" },
    });
    expect(((await rejected.json()) as WithdrawalBody).withdrawal.status).toBe("rejected");
    expect((await balances(user.token)).BTC).toMatchObject({ available: "2.00000000", locked: "0.00000000" });
    expect(await walletEvents(user.id)).toContain("withdrawal.rejected");
  });
});
