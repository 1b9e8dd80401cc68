// Requesting and listing withdrawals through the API: the rules, one winner among concurrent
// requests, Idempotency-Key replays, another user's withdrawal hidden, cursor pages.
import { describe, expect, it } from "vitest";
import { api, expectError } from "../auth/helpers";
import {
  BTC_DEST,
  ETH_DEST,
  type WithdrawalBody,
  walletUser,
  balances,
  deposit,
  withdraw,
} from "./wallet-api";

describe("POST /api/v1/wallets/withdrawals", () => {
  it.each([
    ["0.000000001", "INVALID_AMOUNT"],
    ["1e-8", "VALIDATION_FAILED"],
    ["-1", "VALIDATION_FAILED"],
    [0.01, "VALIDATION_FAILED"],
    [`1${"0".repeat(80)}`, "INVALID_AMOUNT"],
    ["0", "INVALID_AMOUNT"],
  ])("refuses the amount %j with 422 %s", async (amount, code) => {
    const { token } = await walletUser();
    await deposit(token, "BTC", "1");
    await expectError(await withdraw(token, { asset: "BTC", address: BTC_DEST, amount }), 422, code);
    expect((await balances(token)).BTC).toMatchObject({ available: "1.00000000", locked: "0.00000000" });
  });

  it("needs verified KYC (403), an Idempotency-Key (400) and a valid address (422)", async () => {
    const pending = await walletUser("pending");
    await deposit(pending.token, "BTC", "1");
    await expectError(
      await withdraw(pending.token, { asset: "BTC", address: BTC_DEST, amount: "0.1" }),
      403,
      "KYC_REQUIRED",
    );
    expect((await balances(pending.token)).BTC!.available).toBe("1.00000000");
    const { token } = await walletUser();
    await expectError(
      await withdraw(token, { asset: "BTC", address: BTC_DEST, amount: "0.1" }, null),
      400,
      "IDEMPOTENCY_KEY_REQUIRED",
    );
    await expectError(
      await withdraw(token, { asset: "BTC", address: ETH_DEST, amount: "0.1" }),
      422,
      "INVALID_ADDRESS",
    );
  });

  it("accepts exactly one of 20 concurrent withdrawals of the whole balance", async () => {
    const { token } = await walletUser();
    await deposit(token, "USDC", "1234.5");
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        withdraw(token, { asset: "USDC", address: ETH_DEST, amount: "1234.5" }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    for (const r of results) if (r.status !== 201) await expectError(r, 422, "INSUFFICIENT_FUNDS");
    expect((await balances(token)).USDC).toMatchObject({ available: "0.000000", locked: "1234.500000" });
  });

  it("replays the first response for the same Idempotency-Key and refuses it for another body", async () => {
    const { token } = await walletUser();
    await deposit(token, "BTC", "1");
    const key = crypto.randomUUID();
    const body = { asset: "BTC", address: BTC_DEST, amount: "0.2" };
    const first = await withdraw(token, body, key);
    expect(first.status).toBe(201);
    const again = await withdraw(token, { amount: "0.2", address: BTC_DEST, asset: "BTC" }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as WithdrawalBody).withdrawal.id).toBe(
      ((await first.json()) as WithdrawalBody).withdrawal.id,
    );
    await expectError(await withdraw(token, { ...body, amount: "0.3" }, key), 422, "IDEMPOTENCY_KEY_REUSED");
    expect((await balances(token)).BTC).toMatchObject({ available: "0.80000000", locked: "0.20000000" });
  });

  it("executes once when the same Idempotency-Key arrives 5 times at once", async () => {
    const { token } = await walletUser();
    await deposit(token, "BTC", "1");
    const key = crypto.randomUUID();
    const body = { asset: "BTC", address: BTC_DEST, amount: "0.3" };
    const results = await Promise.all(Array.from({ length: 5 }, () => withdraw(token, body, key)));
    const ids = new Set<string>();
    for (const r of results) {
      if (r.status === 201) ids.add(((await r.json()) as WithdrawalBody).withdrawal.id);
      else await expectError(r, 409, "IDEMPOTENCY_IN_PROGRESS");
    }
    expect(ids.size).toBe(1);
    expect((await balances(token)).BTC).toMatchObject({ available: "0.70000000", locked: "0.30000000" });
    const list = (await (await api("GET", "/api/v1/wallets/withdrawals", { token })).json()) as {
      withdrawals: unknown[];
    };
    expect(list.withdrawals).toHaveLength(1);
  });

  it("hides another user's withdrawal (404) and changes nothing", async () => {
    const alice = await walletUser();
    const mallory = await walletUser();
    await deposit(alice.token, "BTC", "1");
    const res = await withdraw(alice.token, { asset: "BTC", address: BTC_DEST, amount: "0.1" });
    const { withdrawal } = (await res.json()) as WithdrawalBody;
    await expectError(
      await api("POST", `/api/v1/wallets/withdrawals/${withdrawal.id}/cancel`, { token: mallory.token }),
      404,
      "NOT_FOUND",
    );
    const list = await api("GET", "/api/v1/wallets/withdrawals", { token: mallory.token });
    expect(((await list.json()) as { withdrawals: unknown[] }).withdrawals).toEqual([]);
    expect((await balances(alice.token)).BTC).toMatchObject({
      available: "0.90000000",
      locked: "0.10000000",
    });
    const cancel = await api("POST", `/api/v1/wallets/withdrawals/${withdrawal.id}/cancel`, {
      token: alice.token,
    });
    expect(cancel.status).toBe(200);
    expect((await balances(alice.token)).BTC).toMatchObject({
      available: "1.00000000",
      locked: "0.00000000",
    });
  });
});

describe("GET /api/v1/wallets/withdrawals", () => {
  it("pages newest first with a cursor and filters by status", async () => {
    const { token } = await walletUser();
    await deposit(token, "USDT", "1000");
    const ids: string[] = [];
    for (const amount of ["11", "12", "13"]) {
      const res = await withdraw(token, { asset: "USDT", address: ETH_DEST, amount });
      ids.push(((await res.json()) as WithdrawalBody).withdrawal.id);
    }
    await api("POST", `/api/v1/wallets/withdrawals/${ids[1]}/cancel`, { token });
    const first = (await (await api("GET", "/api/v1/wallets/withdrawals?limit=2", { token })).json()) as {
      withdrawals: { id: string }[];
      next_cursor: string;
    };
    expect(first.withdrawals.map((w) => w.id)).toEqual([ids[2], ids[1]]);
    const rest = (await (
      await api("GET", `/api/v1/wallets/withdrawals?limit=2&cursor=${first.next_cursor}`, { token })
    ).json()) as { withdrawals: { id: string }[]; next_cursor: string | null };
    expect(rest).toEqual({
      withdrawals: [expect.objectContaining({ id: ids[0], amount: "11.000000" })],
      next_cursor: null,
    });
    const cancelled = (await (
      await api("GET", "/api/v1/wallets/withdrawals?status=cancelled", { token })
    ).json()) as {
      withdrawals: { id: string }[];
    };
    expect(cancelled.withdrawals.map((w) => w.id)).toEqual([ids[1]]);
    await expectError(await api("GET", "/api/v1/wallets/withdrawals?cursor=garbage", { token }), 400);
  });
});
