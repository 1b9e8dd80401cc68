import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { hmacSha256Hex } from "../../../src/lib/api-key-crypto";
import { parseUnits } from "../../../src/lib/money";
import { account, api, login, PASSWORD, randomIp } from "../auth/helpers";
import { fund } from "../wallets/fixtures";

/** A Binance-style client of the Worker: an API key, its secret and a client IP of its own. */
export interface BinanceClient {
  userId: string;
  key: string;
  secret: string;
  ip: string;
  token: string;
}

const DECIMALS: Record<string, number> = { BTC: 8, ETH: 18, USDT: 6, USDC: 6 };

/** An API key through the API's own flow (POST /users/me/api-keys), as a user creates one. */
export async function createApiKey(
  token: string,
  permissions: string[],
): Promise<{ key: string; secret: string }> {
  const res = await api("POST", "/api/v1/users/me/api-keys", {
    token,
    body: { label: "binance bot", permissions, current_password: PASSWORD },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { api_key: { key: string; secret: string } }).api_key;
}

/** A verified, KYC-approved user with a read+trade key, funded with the given decimal amounts. */
export async function binanceClient(
  funds: Record<string, string> = {},
  permissions = ["read", "trade"],
): Promise<BinanceClient> {
  const user = await account({ kycStatus: "verified", emailVerifiedAt: new Date() });
  await withDatabase(env, async (db) => {
    for (const [asset, amount] of Object.entries(funds)) {
      await fund(db, user.id, asset, parseUnits(amount, DECIMALS[asset]!));
    }
  });
  const { access_token } = await login(user.email);
  const { key, secret } = await createApiKey(access_token, permissions);
  return { userId: user.id, key, secret, ip: randomIp(), token: access_token };
}

/** A public GET of the Binance face from its own IP (weights are per IP). */
export function publicGet(path: string, params: Record<string, string> = {}, ip = randomIp()) {
  const qs = new URLSearchParams(params).toString();
  return SELF.fetch(`http://x/api/v3${path}${qs ? `?${qs}` : ""}`, { headers: { "cf-connecting-ip": ip } });
}

export interface SignOptions {
  /** POST parameters in a form body (as ccxt and python-binance send them); default true for POST. */
  inBody?: boolean;
  timestamp?: number;
  /** Sign with another secret (a bad signature). */
  secret?: string;
  headers?: Record<string, string>;
}

/** A SIGNED request: timestamp added, HMAC-SHA256 of the query string + body appended. */
export async function signedFetch(
  c: BinanceClient,
  method: string,
  path: string,
  params: Record<string, string> = {},
  o: SignOptions = {},
): Promise<Response> {
  const all = new URLSearchParams({ ...params, timestamp: String(o.timestamp ?? Date.now()) }).toString();
  const signature = await hmacSha256Hex(o.secret ?? c.secret, all);
  const signedParams = `${all}&signature=${signature}`;
  const inBody = o.inBody ?? method === "POST";
  const headers: Record<string, string> = { "x-mbx-apikey": c.key, "cf-connecting-ip": c.ip, ...o.headers };
  if (inBody) headers["content-type"] = "application/x-www-form-urlencoded";
  return SELF.fetch(`http://x/api/v3${path}${inBody ? "" : `?${signedParams}`}`, {
    method,
    headers,
    body: inBody ? signedParams : undefined,
  });
}

/** The JSON of a 200 reply (fails with the body otherwise). */
export async function ok<T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  const body = await r.json();
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body as T;
}

/** Binance's error body with the expected status and code. */
export async function binanceError(res: Response | Promise<Response>, status: number, code: number) {
  const r = await res;
  const body = (await r.json()) as { code: number; msg: string };
  expect({ status: r.status, code: body.code }, JSON.stringify(body)).toEqual({ status, code });
  return body;
}

/** A GTC LIMIT order's parameters, as Binance clients send them. */
export const limitOrder = (
  symbol: string,
  side: "BUY" | "SELL",
  price: string,
  quantity = "0.01",
  extra: Record<string, string> = {},
) => ({ symbol, side, type: "LIMIT", timeInForce: "GTC", quantity, price, ...extra });

/** A sell OCO in Binance's current form: a LIMIT_MAKER above at 70,000, a stop-limit below at 60,000. */
export const sellOco = (symbol: string, extra: Record<string, string> = {}) => ({
  symbol,
  side: "SELL",
  quantity: "0.01",
  aboveType: "LIMIT_MAKER",
  abovePrice: "70000",
  belowType: "STOP_LOSS_LIMIT",
  belowStopPrice: "60000",
  belowPrice: "59900",
  belowTimeInForce: "GTC",
  ...extra,
});
