import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { SESSION_RECHECK_MS } from "../../../durable-objects/market/ws/socket-sessions";
import { api, login } from "../auth/helpers";
import { createMarket, placed, trader, type Trader } from "../trading/helpers";
import { WsClient } from "./ws-client";

// Revocation everywhere: a socket's private channels and order entry end when the session
// behind them does (logout, expiry, ban), within a few seconds, as HTTP refuses at once.

const ORDER = { side: "buy", type: "limit", price: "10000.00", quantity: "0.001" };
/** The re-check interval plus room for a loaded machine. */
const WITHIN_MS = SESSION_RECHECK_MS + 7_000;

async function upgrade(market: string, token: string): Promise<Response> {
  return SELF.fetch(`http://x/api/v1/ws?market=${market}`, {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${token}` },
  });
}

async function socketOf(market: string, token: string): Promise<WsClient> {
  const res = await upgrade(market, token);
  expect(res.status).toBe(101);
  res.webSocket!.accept();
  return WsClient.wrap(res.webSocket!);
}

async function subscribeOrders(client: WsClient, market: string, id = 1): Promise<void> {
  client.send({ op: "subscribe", id, channels: ["orders"] });
  expect(await client.next((f) => f.type === "subscribed" && f.id === id)).toMatchObject({
    channels: [`orders:${market}`],
  });
  await client.next((f) => f.type === "snapshot" && f.channel === `orders:${market}`);
}

const orderFrames = (c: WsClient) => c.frames.filter((f) => f.type === "order");

/** The same user's second session: it places orders while the first one's socket watches. */
async function secondSession(t: Trader): Promise<Trader> {
  const email = (
    (await (await api("GET", "/api/v1/users/me", { token: t.token })).json()) as { user: { email: string } }
  ).user.email;
  return { id: t.id, token: (await login(email)).access_token };
}

function claimsOf(token: string): { sub: string; sid: string } {
  const payload = token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
  return JSON.parse(atob(payload)) as { sub: string; sid: string };
}

/** A real token of the same live session that expires in `seconds`. */
async function shortLived(token: string, seconds: number): Promise<string> {
  const jwk = (JSON.parse(env.JWT_SIGNING_KEYS) as JWK[])[0]!;
  const { sub, sid } = claimsOf(token);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "user", sid })
    .setProtectedHeader({ alg: "EdDSA", kid: jwk.kid!, typ: "at+jwt" })
    .setSubject(sub)
    .setIssuer(env.JWT_ISSUER)
    .setAudience(env.JWT_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .setJti(crypto.randomUUID())
    .sign(await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA"));
}

describe("socket sessions", () => {
  it("a logged-out token is refused: on the upgrade (401) and by the auth op", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "100" });
    expect((await api("POST", "/api/v1/users/me/logout", { token: t.token })).status).toBeLessThan(300);

    expect((await upgrade(market, t.token)).status).toBe(401);
    const client = await WsClient.connect(market);
    client.send({ op: "auth", id: 1, token: t.token });
    expect(await client.next((f) => f.type === "error" && f.id === 1)).toMatchObject({
      code: "UNAUTHORIZED",
    });
    client.send({ op: "subscribe", id: 2, channels: ["orders", "balances"] });
    expect(await client.next((f) => f.id === 2)).toMatchObject({ type: "error", code: "UNAUTHORIZED" });
    client.close();
  });

  it("a revoked session's socket stops receiving private frames within seconds, and cannot trade", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "100" });
    const other = await secondSession(t);
    // One socket authenticated on the upgrade, one with the auth op: both must end.
    const upgraded = await socketOf(market, t.token);
    const viaOp = await WsClient.connect(market);
    viaOp.send({ op: "auth", id: 9, token: t.token });
    await viaOp.next((f) => f.type === "authenticated");
    for (const c of [upgraded, viaOp]) await subscribeOrders(c, market);

    await placed(other, { market, ...ORDER });
    for (const c of [upgraded, viaOp]) await c.until(() => orderFrames(c).length === 1);

    const logout = await api("POST", "/api/v1/users/me/logout", { token: t.token });
    expect(logout.status).toBeLessThan(300);
    const started = Date.now();
    for (const c of [upgraded, viaOp]) {
      expect(await c.next((f) => f.code === "SESSION_REVOKED", 0, WITHIN_MS)).toMatchObject({
        type: "error",
        channels: [`orders:${market}`],
      });
    }
    expect(Date.now() - started).toBeLessThan(WITHIN_MS);

    // The same user's other session still trades; the ended sockets hear nothing of it.
    await placed(other, { market, ...ORDER });
    const watcher = await socketOf(market, other.token);
    await subscribeOrders(watcher, market);
    await placed(other, { market, ...ORDER });
    await watcher.until(() => orderFrames(watcher).length === 1);
    for (const c of [upgraded, viaOp]) {
      expect(orderFrames(c)).toHaveLength(1);
      c.send({ op: "subscribe", id: 3, channels: ["orders"] });
      expect(await c.next((f) => f.id === 3)).toMatchObject({ type: "error", code: "UNAUTHORIZED" });
      c.send({ op: "order.place", id: 4, order: ORDER });
      expect(await c.next((f) => f.id === 4)).toMatchObject({
        type: "error",
        error: { code: "UNAUTHORIZED" },
      });
      // Public channels still work on the same socket.
      c.send({ op: "subscribe", id: 5, channels: [`ticker:${market}`] });
      expect(await c.next((f) => f.id === 5)).toMatchObject({ type: "subscribed" });
      c.close();
    }
    watcher.close();
  });

  it("private channels end when the access token expires; a fresh token resumes them", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "100" });
    const client = await socketOf(market, await shortLived(t.token, 2));
    await subscribeOrders(client, market);
    expect(await client.next((f) => f.code === "SESSION_EXPIRED", 0, WITHIN_MS + 2_000)).toMatchObject({
      type: "error",
      channels: [`orders:${market}`],
    });
    client.send({ op: "auth", id: 2, token: t.token });
    await client.next((f) => f.type === "authenticated" && f.id === 2);
    await subscribeOrders(client, market, 3);
    await placed(t, { market, ...ORDER });
    await client.until(() => orderFrames(client).length === 1);
    client.close();
  });

  it("duplicate channels in one subscribe collapse: one subscription, one balance snapshot", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "100" });
    const client = await socketOf(market, t.token);
    const names = Array.from({ length: 20 }, (_, i) => (i % 2 ? "balances" : `balances:${market}`));
    client.send({ op: "subscribe", id: 1, channels: names });
    expect(await client.next((f) => f.type === "subscribed")).toEqual({
      type: "subscribed",
      id: 1,
      channels: [`balances:${market}`],
    });
    await client.next((f) => f.type === "snapshot");
    client.send({ op: "ping", id: 2 });
    await client.next((f) => f.type === "pong");
    expect(client.frames.filter((f) => f.type === "snapshot")).toHaveLength(1);
    client.close();
  });

  it("repeated balance subscriptions are throttled per socket: one read a second, each subscriber answered", async () => {
    const market = await createMarket();
    const t = await trader({ USDT: "100" });
    const client = await socketOf(market, t.token);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      client.send({ op: "subscribe", id: `s${i}`, channels: ["balances"] });
      await client.next(
        (f) => f.type === "snapshot" && client.frames.filter((g) => g.type === "snapshot").length === i + 1,
      );
      client.send({ op: "unsubscribe", id: `u${i}`, channels: ["balances"] });
      await client.next((f) => f.id === `u${i}`);
    }
    // Three snapshots, each read at least the interval after the one before.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 1_000 - 50);
    expect(client.frames.filter((f) => f.type === "snapshot")).toHaveLength(3);
    client.close();
  });
});
