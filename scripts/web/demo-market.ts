import { eq } from "drizzle-orm";
import { users } from "../../src/db/schema";
import { deposit, verificationToken, type LocalExchange } from "../lib/local-exchange";

export const DEMO_PASSWORD = "a demo trader pass phrase";

async function call<T>(
  x: LocalExchange,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${x.base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** A verified, KYC-approved trader with funds, made through the API (the chain watcher's webhook for the funds). */
export async function demoTrader(
  x: LocalExchange,
  name: string,
  funds: Record<string, string>,
): Promise<{ email: string; token: string }> {
  const email = `${name}-${Date.now()}@demo.test`;
  const { user } = await call<{ user: { id: string } }>(x, "POST", "/api/v1/auth/register", undefined, {
    email,
    password: DEMO_PASSWORD,
    first_name: name,
    last_name: "Demo",
  });
  await call(x, "POST", "/api/v1/auth/verify-email", undefined, { token: await verificationToken(x, email) });
  await x.db.update(users).set({ kycStatus: "verified" }).where(eq(users.id, user.id));
  const { access_token: token } = await call<{ access_token: string }>(
    x,
    "POST",
    "/api/v1/auth/login",
    undefined,
    {
      email,
      password: DEMO_PASSWORD,
    },
  );
  for (const [asset, amount] of Object.entries(funds)) {
    const { address } = await call<{ address: string }>(x, "GET", `/api/v1/wallets/${asset}/address`, token);
    await deposit(x, asset, address, amount);
  }
  return { email, token };
}

/** A BTC-USDT book around 64,000 with a few trades, so pages have something to show. */
export async function seedDemoMarket(x: LocalExchange): Promise<{ email: string; token: string }> {
  const maker = await demoTrader(x, "maker", { BTC: "10", USDT: "1000000" });
  const taker = await demoTrader(x, "taker", { BTC: "10", USDT: "1000000" });
  const order = (token: string, side: string, price: string, quantity: string) =>
    call(x, "POST", "/api/v1/orders", token, { market: "BTC-USDT", side, type: "limit", price, quantity });
  for (let i = 1; i <= 12; i++) {
    await order(maker.token, "buy", (64_000 - i * 7.5).toFixed(2), (0.01 * i).toFixed(5));
    await order(maker.token, "sell", (64_000 + i * 7.5).toFixed(2), (0.008 * i).toFixed(5));
  }
  for (const [side, price, quantity] of [
    ["buy", "64007.50", "0.00500"],
    ["sell", "63992.50", "0.01200"],
    ["buy", "64015.00", "0.02000"],
  ] as const) {
    await order(taker.token, side, price, quantity);
  }
  return taker;
}
