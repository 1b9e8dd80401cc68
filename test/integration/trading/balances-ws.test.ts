import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { withDatabase } from "../../../src/db/client";
import { lockFunds, releaseFunds } from "../../../src/domain/ledger/ledger";
import { readBalanceUpdates } from "../../../src/domain/ledger/balance-updates";
import { orderBook } from "../../../src/services/trading/market-directory";
import { api } from "../auth/helpers";
import { WsClient, type Frame } from "../market/ws-client";
import { createMarket, placed, trader, type Trader, settle } from "./helpers";

interface Balance {
  asset: string;
  available: string;
  locked: string;
}

/** A socket opened with the trader's access token in the upgrade (the Worker authenticates it). */
async function authenticatedSocket(market: string, t: Trader): Promise<WsClient> {
  const res = await SELF.fetch(`http://x/api/v1/ws?market=${market}`, {
    headers: { Upgrade: "websocket", Authorization: `Bearer ${t.token}` },
  });
  expect(res.status).toBe(101);
  res.webSocket!.accept();
  return WsClient.wrap(res.webSocket!);
}

/** Subscribes to `balances` and returns the snapshot's balances. */
async function subscribeBalances(client: WsClient, market: string, id = 1): Promise<Balance[]> {
  client.send({ op: "subscribe", id, channels: ["balances"] });
  expect(await client.next((f) => f.type === "subscribed" && f.id === id)).toEqual({
    type: "subscribed",
    id,
    channels: [`balances:${market}`],
  });
  const snapshot = await client.next((f) => f.type === "snapshot" && f.channel === `balances:${market}`);
  return snapshot.balances as Balance[];
}

async function wallets(t: Trader, assets: string[]): Promise<Balance[]> {
  const res = await api("GET", "/api/v1/wallets", { token: t.token });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { balances: Balance[] };
  return assets.map((asset) => {
    const b = body.balances.find((x) => x.asset === asset)!;
    return { asset, available: b.available, locked: b.locked };
  });
}

const balanceFrames = (c: WsClient) => c.frames.filter((f) => f.type === "balance");
const triplet = (f: Frame | Balance) => `${f.asset as string} ${f.available as string} ${f.locked as string}`;

/** The socket's view per asset: the snapshot, then every `balance` frame in order. */
function latest(c: WsClient, assets: string[]): Balance[] {
  const view = new Map<string, Balance>();
  for (const f of c.frames) {
    if (f.type === "snapshot" && Array.isArray(f.balances))
      for (const b of f.balances as Balance[]) view.set(b.asset, b);
    if (f.type === "balance")
      view.set(f.asset as string, {
        asset: f.asset as string,
        available: f.available as string,
        locked: f.locked as string,
      });
  }
  return assets.map((a) => view.get(a)!);
}

describe("the private balances channel", () => {
  it("two users trade through REST: each socket ends at its own GET /wallets, and never sees the other's", async () => {
    const market = await createMarket();
    const alice = await trader({ BTC: "1" });
    const bob = await trader({ USDT: "10000" });
    const assets = ["BTC", "USDT"];

    const a = await authenticatedSocket(market, alice);
    expect(await subscribeBalances(a, market)).toEqual([
      { asset: "BTC", available: "1.00000000", locked: "0.00000000" },
      { asset: "USDT", available: "0.000000", locked: "0.000000" },
    ]);
    // Bob authenticates with an `auth` message on a public socket (the browser path).
    const b = await WsClient.connect(market);
    b.send({ op: "auth", id: 1, token: bob.token });
    await b.next((f) => f.type === "authenticated");
    expect(await subscribeBalances(b, market, 2)).toEqual([
      { asset: "BTC", available: "0.00000000", locked: "0.00000000" },
      { asset: "USDT", available: "10000.000000", locked: "0.000000" },
    ]);
    // A public socket may not subscribe: an error frame, and nothing follows.
    const anon = await WsClient.connect(market);
    anon.send({ op: "subscribe", id: 7, channels: ["balances"] });
    expect(await anon.next((f) => f.type === "error")).toMatchObject({ id: 7, code: "UNAUTHORIZED" });

    const ask = await placed(alice, {
      market,
      side: "sell",
      type: "limit",
      price: "64000.00",
      quantity: "0.03",
    });
    await placed(bob, { market, side: "buy", type: "limit", price: "64000.00", quantity: "0.01" });
    await placed(bob, { market, side: "buy", type: "limit", price: "64500.00", quantity: "0.01" });
    await settle(market);
    const cancelled = await api("DELETE", `/api/v1/orders/${ask.order.id}`, { token: alice.token });
    expect(cancelled.status).toBe(200);
    await placed(bob, { market, side: "buy", type: "limit", price: "63000.00", quantity: "0.01" });
    await settle(market);

    const aliceRest = await wallets(alice, assets);
    const bobRest = await wallets(bob, assets);
    expect(aliceRest).toEqual([
      { asset: "BTC", available: "0.98000000", locked: "0.00000000" },
      { asset: "USDT", available: "1278.720000", locked: "0.000000" },
    ]);
    await a.until(() => JSON.stringify(latest(a, assets)) === JSON.stringify(aliceRest));
    await b.until(() => JSON.stringify(latest(b, assets)) === JSON.stringify(bobRest));

    // Every frame is well formed, and Alice's and Bob's frames never cross.
    for (const f of [...balanceFrames(a), ...balanceFrames(b)]) {
      expect(f).toEqual({
        type: "balance",
        channel: `balances:${market}`,
        asset: expect.stringMatching(/^(BTC|USDT)$/),
        available: expect.stringMatching(/^\d+\.\d+$/),
        locked: expect.stringMatching(/^\d+\.\d+$/),
        ts: expect.any(Number),
      });
    }
    const aliceSeen = new Set(balanceFrames(a).map(triplet));
    expect(balanceFrames(b).length).toBeGreaterThan(0);
    expect(balanceFrames(b).some((f) => aliceSeen.has(triplet(f)))).toBe(false);
    // Bob's frames are all his: the values his wallet went through, never Alice's BTC of 0.97.
    expect(balanceFrames(b).some((f) => f.asset === "BTC" && f.available === "0.97000000")).toBe(false);
    expect(aliceSeen.has("BTC 0.97000000 0.03000000")).toBe(true);

    // The public socket got the error only.
    expect(anon.frames.map((f) => f.type)).toEqual(["error"]);
    for (const c of [a, b, anon]) c.close();
  });

  it("a placement's lock and a cancel's release each arrive as a balance frame", async () => {
    const market = await createMarket();
    const carol = await trader({ USDT: "1000" });
    const c = await authenticatedSocket(market, carol);
    await subscribeBalances(c, market);

    const from = c.frames.length;
    const bid = await placed(carol, {
      market,
      side: "buy",
      type: "limit",
      price: "50000.00",
      quantity: "0.01",
    });
    // The lock rides on the place command: no settlement needed for this frame.
    expect(await c.next((f) => f.type === "balance", from)).toMatchObject({
      channel: `balances:${market}`,
      asset: "USDT",
      available: "500.000000",
      locked: "500.000000",
    });

    const after = c.frames.length;
    const res = await api("DELETE", `/api/v1/orders/${bid.order.id}`, { token: carol.token });
    expect(res.status).toBe(200);
    expect(await c.next((f) => f.type === "balance", after)).toMatchObject({
      asset: "USDT",
      available: "1000.000000",
      locked: "0.000000",
    });
    expect(latest(c, ["USDT"])).toEqual(await wallets(carol, ["USDT"]));
    c.close();
  });

  it("drops an update older than one already sent, and sends only to the user's sockets", async () => {
    const market = await createMarket();
    const dave = await trader();
    const d = await authenticatedSocket(market, dave);
    expect(await subscribeBalances(d, market)).toEqual([
      { asset: "BTC", available: "0.00000000", locked: "0.00000000" },
      { asset: "USDT", available: "0.000000", locked: "0.000000" },
    ]);
    const book = orderBook(env, market);
    const update = (version: string, available: string) => ({
      userId: dave.id,
      asset: "USDT",
      available,
      locked: "0.000000",
      version,
    });
    expect(await book.publishBalances([update("10", "1.000000")])).toEqual({ sent: 1 });
    expect(await book.publishBalances([update("5", "9.000000")])).toEqual({ sent: 0 });
    expect(await book.publishBalances([update("11", "2.000000")])).toEqual({ sent: 1 });
    // Another user's update, and an asset outside this market, reach nobody here.
    expect(
      await book.publishBalances([
        { ...update("12", "3.000000"), userId: crypto.randomUUID() },
        { ...update("13", "4.000000"), asset: "ETH" },
      ]),
    ).toEqual({ sent: 0 });
    await d.until(() => balanceFrames(d).length === 2);
    expect(balanceFrames(d).map((f) => f.available)).toEqual(["1.000000", "2.000000"]);
    // A second socket of the same user gets a snapshot no older than what was sent.
    const d2 = await authenticatedSocket(market, dave);
    expect(await subscribeBalances(d2, market)).toEqual([
      { asset: "BTC", available: "0.00000000", locked: "0.00000000" },
      { asset: "USDT", available: "2.000000", locked: "0.000000" },
    ]);
    d.close();
    d2.close();
  });

  it("a ledger write returns the row it left with a version that a later read agrees with and a later write exceeds", async () => {
    const erin = await trader({ USDT: "100" });
    await withDatabase(env, async (db) => {
      const [start] = await readBalanceUpdates(db, erin.id, ["USDT"]);
      const move = { userId: erin.id, asset: "USDT", amount: 25_000_000n, type: "test.lock" };
      const locked = await lockFunds(db, { ...move, reference: crypto.randomUUID() });
      expect(locked.balances).toEqual([
        {
          userId: erin.id,
          asset: "USDT",
          available: 75_000_000n,
          locked: 25_000_000n,
          version: expect.any(BigInt),
        },
      ]);
      const v1 = locked.balances[0]!.version;
      expect(v1).toBeGreaterThan(BigInt(start!.version));
      expect(await readBalanceUpdates(db, erin.id, ["USDT", "BTC"])).toEqual([
        {
          userId: erin.id,
          asset: "USDT",
          available: "75.000000",
          locked: "25.000000",
          version: v1.toString(),
        },
        { userId: erin.id, asset: "BTC", available: "0.00000000", locked: "0.00000000", version: "0" },
      ]);
      const released = await releaseFunds(db, {
        ...move,
        type: "test.release",
        reference: crypto.randomUUID(),
      });
      expect(released.balances[0]).toMatchObject({ available: 100_000_000n, locked: 0n });
      expect(released.balances[0]!.version).toBeGreaterThan(v1);
    });
  });
});
