// The deposit webhook: signed, fresh and idempotent, so a deposit is credited exactly once.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { deposits } from "../../../src/db/schema";
import { signWebhook } from "../../../src/services/webhook-signature";
import { api, expectError } from "../auth/helpers";
import { randomHex, walletUser, webhook, addressOf, balances, walletEvents } from "./wallet-api";

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
