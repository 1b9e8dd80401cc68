import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { deposits, eventOutbox, users } from "../../../src/db/schema";
import type { EventEnvelope } from "../../../src/services/event-outbox";
import { LEDGER_MISMATCH_KINDS } from "../../../src/services/reconciliation";
import { signWebhook } from "../../../src/services/webhook-signature";
import { api, expectError, login, verifiedUser } from "../auth/helpers";

const BTC_DEST = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
const ETH_DEST = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";

interface Balance {
  asset: string;
  available: string;
  locked: string;
}
interface WithdrawalBody {
  withdrawal: {
    id: string;
    status: string;
    amount: string;
    fee: string;
    net_amount: string;
    user_id?: string;
  };
}

const randomHex = (bytes = 32) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A signed-in user with a verified email and, unless told otherwise, verified KYC. */
async function walletUser(kyc: "verified" | "pending" = "verified") {
  const user = await verifiedUser();
  if (kyc === "verified") {
    await withDatabase(env, (db) =>
      db.update(users).set({ kycStatus: "verified" }).where(eq(users.id, user.id)),
    );
  }
  return { id: user.id, token: user.tokens.access_token };
}

function webhook(body: unknown, options: { timestamp?: number; secret?: string; signature?: string } = {}) {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature =
    options.signature ?? signWebhook(options.secret ?? env.DEPOSIT_WEBHOOK_SECRET, timestamp, raw);
  return SELF.fetch("http://x/api/v1/webhooks/deposits", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-timestamp": timestamp,
      "x-webhook-signature": signature,
    },
    body: raw,
  });
}

async function addressOf(token: string, asset: string): Promise<string> {
  const res = await api("GET", `/api/v1/wallets/${asset}/address`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { address: string }).address;
}

async function balances(token: string): Promise<Record<string, Balance>> {
  const res = await api("GET", "/api/v1/wallets", { token });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { balances: Balance[] };
  return Object.fromEntries(body.balances.map((b) => [b.asset, b]));
}

/** Credits a user through the real webhook with enough confirmations. */
async function deposit(token: string, asset: string, amount: string): Promise<void> {
  const confirmations = asset === "BTC" ? 2 : 12;
  const res = await webhook({
    asset,
    tx_hash: randomHex(),
    vout: 0,
    address: await addressOf(token, asset),
    amount,
    confirmations,
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ credited: true });
}

function withdraw(token: string, body: unknown, key: string | null = crypto.randomUUID()) {
  return api("POST", "/api/v1/wallets/withdrawals", {
    token,
    body,
    headers: key ? { "idempotency-key": key } : {},
  });
}

async function walletEvents(userId: string): Promise<string[]> {
  const rows = await withDatabase(env, (db) =>
    db
      .select({ envelope: eventOutbox.envelope })
      .from(eventOutbox)
      .where(
        and(eq(eventOutbox.stream, "wallet:events"), sql`${eventOutbox.envelope}->>'user_id' = ${userId}`),
      )
      .orderBy(eventOutbox.id),
  );
  return rows.map((r) => (r.envelope as unknown as EventEnvelope).type);
}

let adminToken: string;
beforeAll(async () => {
  adminToken = (await login(env.ADMIN_EMAIL, env.ADMIN_PASSWORD)).access_token;
});

describe("GET /api/v1/wallets and deposit addresses", () => {
  it("lists every asset with exact decimal strings, and needs a session", async () => {
    const { token } = await walletUser();
    const all = await balances(token);
    expect(all.BTC).toEqual({ asset: "BTC", available: "0.00000000", locked: "0.00000000" });
    expect(all.ETH!.available).toBe("0.000000000000000000");
    expect(all.USDT!.available).toBe("0.000000");
    await expectError(await api("GET", "/api/v1/wallets"), 401, "UNAUTHORIZED");
  });

  it("gives a stable segwit BTC address and one checksummed ETH address shared by ERC-20 tokens", async () => {
    const { token } = await walletUser();
    const btc = await addressOf(token, "BTC");
    expect(btc).toMatch(/^bc1q[02-9ac-hj-np-z]{38}$/);
    expect(await addressOf(token, "btc")).toBe(btc);
    const eth = await addressOf(token, "ETH");
    expect(eth).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(await addressOf(token, "USDT")).toBe(eth);
    const usdc = await api("GET", "/api/v1/wallets/USDC/address", { token });
    expect(await usdc.json()).toMatchObject({ address: eth, chain: "ethereum", token_standard: "ERC-20" });
    await expectError(await api("GET", "/api/v1/wallets/DOGE/address", { token }), 404, "NOT_FOUND");
  });
});

describe("POST /api/v1/webhooks/deposits", () => {
  it("credits the same deposit once when sent 5 times in a row and 5 times at once", async () => {
    const { id, token } = await walletUser();
    const address = await addressOf(token, "BTC");
    const notice = { asset: "BTC", tx_hash: randomHex(), vout: 3, address, amount: "0.5", confirmations: 1 };
    const pending = await webhook(notice);
    expect(pending.status).toBe(200);
    expect(await pending.json()).toMatchObject({
      credited: false,
      deposit: { status: "pending", amount: "0.50000000" },
    });
    expect((await balances(token)).BTC!.available).toBe("0.00000000");

    const confirmed = { ...notice, confirmations: 2 };
    const sequential = [];
    for (let i = 0; i < 5; i++) sequential.push(await webhook(confirmed));
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => webhook(confirmed)));
    const replies = await Promise.all(
      [...sequential, ...concurrent].map(async (r) => {
        expect(r.status).toBe(200);
        return (await r.json()) as { credited: boolean };
      }),
    );
    expect(replies.filter((r) => r.credited)).toHaveLength(1);
    expect((await balances(token)).BTC!.available).toBe("0.50000000");
    expect(await walletEvents(id)).toEqual(["deposit.pending", "deposit.credited"]);
    const list = await api("GET", "/api/v1/wallets/deposits", { token });
    expect(await list.json()).toMatchObject({
      deposits: [{ asset: "BTC", amount: "0.50000000", status: "credited", confirmations: 2, vout: 3 }],
      next_cursor: null,
    });
  });

  it("refuses a bad signature, a stale timestamp and an unknown address, crediting nothing", async () => {
    const { token } = await walletUser();
    const address = await addressOf(token, "ETH");
    const notice = { asset: "ETH", tx_hash: randomHex(), vout: 0, address, amount: "1", confirmations: 50 };
    await expectError(await webhook(notice, { secret: "not-the-secret" }), 401, "INVALID_SIGNATURE");
    await expectError(await webhook(notice, { signature: "" }), 401, "INVALID_SIGNATURE");
    await expectError(
      await webhook(notice, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      401,
      "STALE_TIMESTAMP",
    );
    await expectError(
      await webhook(notice, { timestamp: Math.floor(Date.now() / 1000) + 301 }),
      401,
      "STALE_TIMESTAMP",
    );
    // Signed over one body, sent with another.
    const ts = String(Math.floor(Date.now() / 1000));
    const forged = await SELF.fetch("http://x/api/v1/webhooks/deposits", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-webhook-timestamp": ts,
        "x-webhook-signature": signWebhook(env.DEPOSIT_WEBHOOK_SECRET, ts, JSON.stringify(notice)),
      },
      body: JSON.stringify({ ...notice, amount: "1000" }),
    });
    await expectError(forged, 401, "INVALID_SIGNATURE");
    await expectError(
      await webhook({ ...notice, address: "0x000000000000000000000000000000000000dEaD" }),
      422,
      "UNKNOWN_DEPOSIT_ADDRESS",
    );
    await expectError(await webhook({ ...notice, amount: 1 }), 422, "VALIDATION_FAILED");
    expect((await balances(token)).ETH!.available).toBe("0.000000000000000000");
    const rows = await withDatabase(env, (db) =>
      db.select().from(deposits).where(eq(deposits.txHash, notice.tx_hash)),
    );
    expect(rows).toEqual([]);
  });
});

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
