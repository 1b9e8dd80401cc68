import ccxt, { type Exchange } from "ccxt";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import type { WorkerUnderTest } from "../../bench/lib/worker-under-test";
import type { openNodeDatabase } from "../../scripts/lib/node-database";
import { users } from "../../src/db/schema";
import { EXTERNAL_DEPOSITS, postJournalEntry, userAvailable } from "../../src/domain/ledger/ledger";

const PASSWORD = "a ccxt test pass phrase";

/**
 * ccxt's own `binance` class (or ccxt.pro's, `pro`), pointed at Pandora by URL only: the `api`
 * URLs it signs and sends to are the Worker's /api/v3, its spot streams the Worker's /ws; the
 * options only keep it to spot (no futures, margin or /sapi wallet calls, which Pandora does
 * not have).
 */
export function binanceAt(base: string, apiKey?: string, secret?: string, pro = false): Exchange {
  const options = {
    apiKey,
    secret,
    options: { fetchMarkets: { types: ["spot"] }, fetchMargins: false, fetchCurrencies: false },
  };
  const exchange = pro ? new ccxt.pro.binance(options) : new ccxt.binance(options);
  const api = exchange.urls.api as Record<string, string | Record<string, string>>;
  api.public = `${base}/api/v3`;
  api.private = `${base}/api/v3`;
  if (pro) (api.ws as Record<string, string>).spot = `${base.replace(/^http/, "ws")}/ws`;
  return exchange;
}

/** Polls `read` until `done` holds (settlement runs just after each fill) or 15 s pass. */
export async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A verified, KYC-approved trader with a read+trade API key, funded in minor units. */
export async function ccxtTrader(
  worker: WorkerUnderTest,
  db: ReturnType<typeof openNodeDatabase>,
  name: string,
  funds: Record<string, bigint>,
): Promise<Exchange> {
  const email = `${name}-${Date.now()}@ccxt.test`;
  const { user } = (await worker.post("/api/v1/auth/register", {
    email,
    password: PASSWORD,
    first_name: name,
    last_name: "Bot",
  })) as { user: { id: string } };
  await db.db
    .update(users)
    .set({ kycStatus: "verified", emailVerifiedAt: new Date() })
    .where(eq(users.id, user.id));
  for (const [asset, amount] of Object.entries(funds)) {
    await postJournalEntry(db.db, {
      type: "test.funding",
      reference: `${user.id}:${asset}`,
      postings: [
        { account: EXTERNAL_DEPOSITS, asset, amount: -amount },
        { account: userAvailable(user.id), asset, amount },
      ],
    });
  }
  const { access_token } = (await worker.post("/api/v1/auth/login", { email, password: PASSWORD })) as {
    access_token: string;
  };
  const res = await fetch(`${worker.base}/api/v1/users/me/api-keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
    body: JSON.stringify({ label: "ccxt", permissions: ["read", "trade"], current_password: PASSWORD }),
  });
  expect(res.status).toBe(201);
  const { api_key } = (await res.json()) as { api_key: { key: string; secret: string } };
  const exchange = binanceAt(worker.base, api_key.key, api_key.secret);
  await exchange.loadMarkets();
  return exchange;
}
