// Helpers of the wallet API tests: users, signed deposit webhooks, withdrawals, events.
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { and, eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { eventOutbox } from "../../../src/db/schema";
import type { EventEnvelope } from "../../../src/domain/events/event-outbox";
import { signWebhook } from "../../../src/services/webhook-signature";
import { account, api, login } from "../auth/helpers";

export const BTC_DEST = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu";
export const ETH_DEST = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94";

export interface Balance {
  asset: string;
  available: string;
  locked: string;
}
export interface WithdrawalBody {
  withdrawal: {
    id: string;
    status: string;
    amount: string;
    fee: string;
    net_amount: string;
    user_id?: string;
  };
}

export const randomHex = (bytes = 32) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

/** A signed-in user with a verified email and, unless told otherwise, verified KYC. */
export async function walletUser(kyc: "verified" | "pending" = "verified") {
  const user = await account({ emailVerifiedAt: new Date(), kycStatus: kyc });
  return { id: user.id, token: (await login(user.email)).access_token };
}

export function webhook(
  body: unknown,
  options: { timestamp?: number; secret?: string; signature?: string } = {},
) {
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

export async function addressOf(token: string, asset: string): Promise<string> {
  const res = await api("GET", `/api/v1/wallets/${asset}/address`, { token });
  expect(res.status).toBe(200);
  return ((await res.json()) as { address: string }).address;
}

export async function balances(token: string): Promise<Record<string, Balance>> {
  const res = await api("GET", "/api/v1/wallets", { token });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { balances: Balance[] };
  return Object.fromEntries(body.balances.map((b) => [b.asset, b]));
}

/** Credits a user through the real webhook with enough confirmations. */
export async function deposit(token: string, asset: string, amount: string): Promise<void> {
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

export function withdraw(token: string, body: unknown, key: string | null = crypto.randomUUID()) {
  return api("POST", "/api/v1/wallets/withdrawals", {
    token,
    body,
    headers: key ? { "idempotency-key": key } : {},
  });
}

export async function walletEvents(userId: string): Promise<string[]> {
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
