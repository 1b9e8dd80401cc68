import { SELF, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LocalBook } from "../../../durable-objects/market/market-data/depth-feed";
import type { OrderBook } from "../../../durable-objects/order-book";
import { Subscriptions } from "../../../durable-objects/market/ws/subscriptions";
import { configuredBook, prng, randomCommands } from "./helpers";
import { stallOneOfTwo } from "./stalled-reader";
import { WsClient } from "./ws-client";

type Levels = { last_update_id: number; bids: [string, string][]; asks: [string, string][] };

describe("WebSocket market data", () => {
  it("after 1,000 random orders a book rebuilt from snapshot plus diffs equals the object's, and REST depth agrees", async () => {
    const symbol = "WSD-USDT";
    const book = await configuredBook(symbol);
    const commands = randomCommands(42, 1_200, "w");
    await book.placeBatch(commands.slice(0, 200)); // the snapshot is not of an empty book

    const client = await WsClient.connect(symbol);
    client.send({ op: "subscribe", id: 1, channels: [`depth:${symbol}`, `trades:${symbol}`] });
    expect(await client.next((f) => f.type === "subscribed")).toEqual({
      type: "subscribed",
      id: 1,
      channels: [`depth:${symbol}`, `trades:${symbol}`],
    });
    const local = new LocalBook();
    local.applySnapshot(
      (await client.next(
        (f) => f.type === "snapshot" && f.channel === `depth:${symbol}`,
      )) as unknown as Levels,
    );

    const next = prng(3);
    for (let i = 200; i < commands.length;) {
      const size = 1 + Math.floor(next() * 40);
      const slice = commands.slice(i, i + size);
      if (slice.length === 1 && slice[0]!.kind === "place") await book.place(slice[0]!);
      else await book.placeBatch(slice);
      i += size;
    }
    const { lastUpdateId } = await book.sequence();
    let applied = 0;
    await client.until(() => {
      for (const f of client.frames.slice(applied)) {
        applied++;
        if (f.type === "update")
          expect(local.applyUpdate(f as unknown as Parameters<LocalBook["applyUpdate"]>[0])).toBe(true);
      }
      return local.lastUpdateId === lastUpdateId;
    });
    const full = await book.fullDepth();
    expect(local.levels()).toEqual({ bids: full!.bids, asks: full!.asks });
    expect(full!.bids.length + full!.asks.length).toBeGreaterThan(20);

    const rest = await SELF.fetch(`http://x/api/v1/markets/${symbol}/depth?limit=100`);
    expect(rest.status).toBe(200);
    expect(await rest.json()).toEqual({
      symbol,
      last_update_id: lastUpdateId,
      bids: full!.bids,
      asks: full!.asks,
    });

    // Subscriptions live in socket attachments: an object woken from hibernation rebuilds them.
    await runInDurableObject(book, (_instance: OrderBook, state) => {
      expect(new Subscriptions(state).count(`depth:${symbol}`)).toBe(1);
      expect(new Subscriptions(state).count(`trades:${symbol}`)).toBe(1);
    });

    const trades = client.frames.filter((f) => f.type === "trade");
    expect(trades.length).toBeGreaterThan(0);
    expect(trades[0]).toMatchObject({
      channel: `trades:${symbol}`,
      taker_side: expect.stringMatching(/^(buy|sell)$/),
    });
    client.close();
  });

  it("sends a ticker and candle snapshot on subscribe, then updates on trades", async () => {
    const symbol = "WST-USDT";
    const book = await configuredBook(symbol);
    const client = await WsClient.connect(symbol);
    client.send({ op: "subscribe", id: 7, channels: [`ticker:${symbol}`, `candles:1m:${symbol}`] });
    await client.next((f) => f.type === "ticker");
    expect(await client.next((f) => f.type === "snapshot")).toMatchObject({ candle: null });
    client.send({ op: "subscribe", id: 8, channels: [`trades:${symbol}`] });
    expect(await client.next((f) => f.type === "snapshot" && f.channel === `trades:${symbol}`)).toMatchObject(
      {
        trades: [],
      },
    );
    const from = client.frames.length;
    await book.placeBatch([
      { kind: "place", orderId: "a", userId: "m", side: "sell", type: "limit", price: "100", quantity: "1" },
      { kind: "place", orderId: "b", userId: "t", side: "buy", type: "market", quantity: "0.25" },
    ]);
    expect(await client.next((f) => f.type === "candle", from)).toMatchObject({
      interval: "1m",
      open: "100.00",
      close: "100.00",
      volume: "0.25000",
      trades: 1,
    });
    expect(await client.next((f) => f.type === "ticker", from)).toMatchObject({
      last_price: "100.00",
      volume: "0.25000",
    });
    client.close();
  });

  it("answers malformed, oversized and unknown messages with an error frame and stays open", async () => {
    const symbol = "WSE-USDT";
    await configuredBook(symbol);
    const client = await WsClient.connect(symbol);
    const cases: [unknown, string][] = [
      ["{not json", "MALFORMED_JSON"],
      [JSON.stringify({ op: "subscribe", id: 1, channels: ["x".repeat(5_000)] }), "MESSAGE_TOO_LARGE"],
      [{ op: "dance", id: 2 }, "UNKNOWN_OP"],
      [{ op: "subscribe", id: 3 }, "BAD_REQUEST"],
      [{ op: "subscribe", id: 4, channels: ["depth:ETH-USDT"] }, "UNKNOWN_CHANNEL"],
      [{ op: "subscribe", id: 5, channels: [`candles:2m:${symbol}`] }, "UNKNOWN_CHANNEL"],
      [{ op: "subscribe", id: 6, channels: [`orders:${symbol}`] }, "UNAUTHORIZED"],
      ["[1,2,3]", "UNKNOWN_OP"],
    ];
    for (const [message, code] of cases) {
      const from = client.frames.length;
      client.send(message);
      const frame = await client.next((f) => f.type === "error", from);
      expect(frame.code).toBe(code);
      expect(typeof frame.message).toBe("string");
    }
    client.send({ op: "ping", id: 9 });
    expect(await client.next((f) => f.type === "pong")).toMatchObject({ id: 9 });
    expect(client.closed).toBeNull();
    client.close();
  });

  it("closes a client that floods messages with 1008", async () => {
    const symbol = "WSR-USDT";
    await configuredBook(symbol);
    const client = await WsClient.connect(symbol);
    for (let i = 0; i < 30; i++) client.send({ op: "ping", id: i });
    await client.until(() => client.closed !== null);
    expect(client.closed!.code).toBe(1008);
    expect(client.frames.some((f) => f.type === "error" && f.code === "RATE_LIMITED")).toBe(true);
  });

  it("disconnects a client that stops reading (1013) without harming the others", async () => {
    const { book, reader } = await stallOneOfTwo("WSS-USDT");
    const { lastUpdateId } = await book.sequence();
    const updates = reader.frames.filter((f) => f.type === "update");
    expect(updates.at(-1)!.last_update_id).toBe(lastUpdateId);
    reader.close();
  });
});
