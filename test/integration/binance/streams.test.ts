import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MarketCommand } from "../../../src/domain/market/commands";
import { randomIp } from "../auth/helpers";
import { configuredBook, randomCommands } from "../market/helpers";
import { WsClient, type Frame } from "../market/ws-client";
import { createMarket } from "../trading/helpers";
import { publicGet } from "./helpers";

// Binance's market streams through the stream hubs: /ws/<stream> and /stream?streams=…, the
// control messages and their errors, and the diff depth stream synced with GET /api/v3/depth
// exactly as Binance's "How to manage a local order book correctly" says.

/** A market in Postgres whose book takes orders without funds (the test drives it directly). */
async function market() {
  const symbol = await createMarket();
  const book = await configuredBook(symbol);
  const lower = symbol.replace("-", "").toLowerCase();
  return { symbol, book, binance: lower.toUpperCase(), lower };
}

async function open(path: string): Promise<WsClient> {
  const res = await SELF.fetch(`http://x${path}`, {
    headers: { Upgrade: "websocket", "cf-connecting-ip": randomIp() },
  });
  if (res.status !== 101 || !res.webSocket)
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  res.webSocket.accept();
  return WsClient.wrap(res.webSocket);
}

const place = (id: string, side: "buy" | "sell", price: string, quantity = "0.01000"): MarketCommand => ({
  kind: "place",
  orderId: id,
  userId: `u-${side}`,
  side,
  type: "limit",
  price,
  quantity,
});

const has = (f: Frame, key: string) => key in f;

describe("Binance market streams", () => {
  it("carries streams of two markets on one combined socket, each payload wrapped as {stream, data}", async () => {
    const [a, b] = await Promise.all([market(), market()]);
    const ws = await open(`/stream?streams=${a.lower}@trade/${b.lower}@aggTrade`);
    await a.book.placeBatch([place("a1", "sell", "64000.00"), place("a2", "buy", "64000.00")]);
    await b.book.placeBatch([place("b1", "sell", "3000.00"), place("b2", "buy", "3000.00")]);
    const fromA = await ws.next((f) => f.stream === `${a.lower}@trade`);
    const fromB = await ws.next((f) => f.stream === `${b.lower}@aggTrade`);
    expect(fromA.data).toMatchObject({
      e: "trade",
      s: a.binance,
      t: 1,
      p: "64000.00",
      q: "0.01000",
      m: false,
    });
    expect(fromB.data).toMatchObject({
      e: "aggTrade",
      s: b.binance,
      a: 1,
      f: 1,
      l: 1,
      p: "3000.00",
      m: false,
    });
    ws.close();
  });

  it("answers SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY as Binance does", async () => {
    const [a, b] = await Promise.all([market(), market()]);
    const ws = await open(`/ws/${a.lower}@trade`);
    ws.send({ method: "SUBSCRIBE", params: [`${b.lower}@trade`, `${b.lower}@depth5@100ms`], id: 1 });
    expect(await ws.next((f) => f.id === 1)).toEqual({ result: null, id: 1 });
    ws.send({ method: "LIST_SUBSCRIPTIONS", id: "list2" });
    const listed = await ws.next((f) => f.id === "list2");
    expect((listed.result as string[]).sort()).toEqual(
      [`${a.lower}@trade`, `${b.lower}@trade`, `${b.lower}@depth5@100ms`].sort(),
    );
    // Raw payloads on /ws/…: no wrapper; the partial depth's current state follows the reply.
    await b.book.placeBatch([place("b1", "sell", "3000.00"), place("b2", "buy", "3000.00")]);
    expect(await ws.next((f) => f.e === "trade" && f.s === b.binance)).toMatchObject({ t: 1, p: "3000.00" });
    expect(await ws.next((f) => has(f, "lastUpdateId"))).toMatchObject({ bids: [], asks: [] });

    ws.send({ method: "GET_PROPERTY", params: ["combined"], id: 3 });
    expect(await ws.next((f) => f.id === 3)).toEqual({ result: false, id: 3 });
    ws.send({ method: "SET_PROPERTY", params: ["combined", true], id: 4 });
    expect(await ws.next((f) => f.id === 4)).toEqual({ result: null, id: 4 });
    ws.send({ method: "UNSUBSCRIBE", params: [`${b.lower}@trade`], id: 5 });
    expect(await ws.next((f) => f.id === 5)).toEqual({ result: null, id: 5 });
    const from = ws.frames.length;
    await a.book.placeBatch([place("a1", "sell", "64000.00"), place("a2", "buy", "64000.00")]);
    await b.book.placeBatch([place("b3", "sell", "3000.00"), place("b4", "buy", "3000.00")]);
    const wrapped = await ws.next((f) => f.stream === `${a.lower}@trade`, from);
    expect(wrapped.data).toMatchObject({ e: "trade", s: a.binance });
    await new Promise((r) => setTimeout(r, 200));
    expect(
      ws.frames
        .slice(from)
        .some(
          (f) => (f.data as Frame | undefined)?.s === b.binance && f.stream?.toString().endsWith("@trade"),
        ),
    ).toBe(false);
    ws.close();
  });

  it("refuses bad messages with Binance's error codes", async () => {
    const a = await market();
    const ws = await open("/ws/0");
    const cases: [unknown, number, string][] = [
      ["{not json", 3, "Invalid JSON"],
      [{ method: "SUBSCRIBE", params: ["nosuchsymbol1@trade"], id: 1 }, 2, "Invalid request: invalid stream"],
      [{ method: "SUBSCRIBE", params: [`${a.lower}@nonsense`], id: 2 }, 2, "Invalid request: invalid stream"],
      [{ method: "SET_PROPERTY", params: ["colour", true], id: 3 }, 0, "Unknown property"],
      [
        { method: "SET_PROPERTY", params: ["combined", "yes"], id: 4 },
        1,
        "Invalid value type: expected Boolean",
      ],
    ];
    for (const [message, code, msg] of cases) {
      const from = ws.frames.length;
      ws.send(message);
      const reply = await ws.next((f) => has(f, "error"), from);
      expect(reply.error).toMatchObject({ code });
      expect((reply.error as { msg: string }).msg).toContain(msg);
      await new Promise((r) => setTimeout(r, 250)); // Binance's 5 messages a second
    }
    const from = ws.frames.length;
    ws.send({ method: "FOO", id: 6 });
    expect(((await ws.next((f) => has(f, "error"), from)).error as { code: number }).code).toBe(2);
    ws.send({ method: "LIST_SUBSCRIPTIONS", id: { x: 1 } });
    expect(
      ((await ws.next((f) => has(f, "error") && f.id === null, from)).error as { msg: string }).msg,
    ).toBe("Invalid request: request ID must be an unsigned integer");
    ws.close();
  });

  it("closes a connection that sends more than 5 messages a second", async () => {
    const ws = await open("/ws");
    for (let i = 0; i < 8; i++) ws.send({ method: "LIST_SUBSCRIPTIONS", id: i });
    await ws.until(() => ws.closed !== null);
    expect(ws.closed?.code).toBe(1008);
  });

  it("refuses URLs that name no stream or no market, and requests that are not upgrades", async () => {
    const a = await market();
    const ip = { "cf-connecting-ip": randomIp() };
    const up = { Upgrade: "websocket", ...ip };
    expect((await SELF.fetch(`http://x/ws/${a.lower}@trade`, { headers: ip })).status).toBe(400);
    expect((await SELF.fetch(`http://x/ws/${a.lower}@nonsense`, { headers: up })).status).toBe(400);
    const unknown = await SELF.fetch("http://x/stream?streams=zzzzzzusdt@trade", { headers: up });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("MARKET_NOT_FOUND");
  });

  it("sends book tickers, 24 h tickers, mini tickers and klines of a market", async () => {
    const a = await market();
    const names = ["bookTicker", "ticker", "miniTicker", "kline_1m", "depth10"].map((n) => `${a.lower}@${n}`);
    const ws = await open(`/stream?streams=${names.join("/")}`);
    await a.book.placeBatch([place("s1", "sell", "64010.00", "0.02000"), place("b1", "buy", "63990.00")]);
    expect((await ws.next((f) => f.stream === names[0] && (f.data as Frame).b === "63990.00")).data).toEqual({
      u: expect.any(Number),
      s: a.binance,
      b: "63990.00",
      B: "0.01000",
      a: "64010.00",
      A: "0.02000",
    });
    await a.book.placeBatch([place("b2", "buy", "64010.00", "0.00500")]);
    const ticker = (await ws.next((f) => f.stream === names[1] && (f.data as Frame).c === "64010.00")).data;
    expect(ticker).toMatchObject({
      e: "24hrTicker",
      s: a.binance,
      c: "64010.00",
      Q: "0.00500",
      n: 1,
      b: "63990.00",
    });
    const mini = (await ws.next((f) => f.stream === names[2] && (f.data as Frame).c === "64010.00")).data;
    expect(mini).toMatchObject({ e: "24hrMiniTicker", s: a.binance, o: "64010.00", v: "0.00500" });
    const kline = (await ws.next((f) => f.stream === names[3])).data as { k: Record<string, unknown> };
    expect(kline.k).toMatchObject({
      i: "1m",
      s: a.binance,
      o: "64010.00",
      c: "64010.00",
      v: "0.00500",
      n: 1,
    });
    const depth = (
      await ws.next((f) => f.stream === names[4] && (f.data as { asks: unknown[] }).asks.length > 0)
    ).data as { lastUpdateId: number; asks: [string, string][] };
    await new Promise((r) => setTimeout(r, 1100)); // the next push of depth10 comes within its second
    const last = [...ws.frames].reverse().find((f) => f.stream === names[4])!.data as typeof depth;
    expect(last.asks).toEqual([["64010.00", "0.01500"]]);
    expect(last.lastUpdateId).toBeGreaterThan(depth.lastUpdateId - 1);
    ws.close();
  });

  it("keeps a local book in sync with GET /api/v3/depth through many diff events, as Binance documents", async () => {
    const a = await market();
    const ws = await open(`/ws/${a.lower}@depth@100ms`);
    // 1-2. Buffer the events while the book moves, 3. then take a snapshot.
    await a.book.placeBatch(randomCommands(11, 300, "warm"));
    const snapshot = (await (await publicGet("/depth", { symbol: a.binance, limit: "1000" })).json()) as {
      lastUpdateId: number;
      bids: [string, string][];
      asks: [string, string][];
    };
    for (let round = 0; round < 20; round++)
      await a.book.placeBatch(randomCommands(100 + round, 50, `r${round}`));
    const final = (await (
      await publicGet("/depth", { symbol: a.binance, limit: "1000" })
    ).json()) as typeof snapshot;
    await ws.until(
      () => ws.frames.some((f) => f.e === "depthUpdate" && (f.u as number) >= final.lastUpdateId),
      10_000,
    );

    const book = { bids: new Map(snapshot.bids), asks: new Map(snapshot.asks) };
    let last = snapshot.lastUpdateId;
    let applied = 0;
    for (const f of ws.frames.filter((x) => x.e === "depthUpdate")) {
      const [U, u] = [f.U as number, f.u as number];
      if (u <= last) continue; // 4. drop what the snapshot has
      // 5. the first event covers lastUpdateId + 1; 6. each next one starts right after the previous.
      if (applied === 0) expect(U <= last + 1 && u >= last + 1).toBe(true);
      else expect(U).toBe(last + 1);
      for (const [side, levels] of [
        [book.bids, f.b],
        [book.asks, f.a],
      ] as const) {
        for (const [p, q] of levels as [string, string][]) {
          if (Number(q) === 0) side.delete(p);
          else side.set(p, q);
        }
      }
      last = u;
      applied++;
    }
    expect(applied).toBeGreaterThan(1);
    expect(last).toBe(final.lastUpdateId);
    const sorted = (m: Map<string, string>, desc: boolean) =>
      [...m].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
    expect(sorted(book.bids, true)).toEqual(final.bids);
    expect(sorted(book.asks, false)).toEqual(final.asks);
    ws.close();
  });
});
