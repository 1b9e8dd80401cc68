import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OrderBook } from "../../../durable-objects/order-book";
import type { Subscriptions } from "../../../durable-objects/market/ws/subscriptions";
import { trader } from "../trading/helpers";
import { configuredBook } from "./helpers";
import { stallOneOfTwo } from "./stalled-reader";
import { WsClient } from "./ws-client";

// A socket opened with trading credentials is not hibernatable (decision 0020): the object, not
// the runtime, sees its literal `ping`, and its events come to listeners.

const subsOf = (instance: OrderBook) => (instance as unknown as { subs: Subscriptions }).subs;
const pongs = (c: WsClient) => c.frames.filter((f) => f.type === "auto-pong").length;

describe("trader sockets (awake)", () => {
  it("answer a literal ping once, and leave the object's socket set when closed", async () => {
    const symbol = "TSA-USDT";
    const book = await configuredBook(symbol);
    const client = await WsClient.connect(symbol, (await trader()).token);
    client.send("ping");
    await client.next((f) => f.type === "auto-pong");
    await new Promise((r) => setTimeout(r, 300));
    expect(pongs(client)).toBe(1);
    const counts = () =>
      runInDurableObject(book, (instance: OrderBook, state) => ({
        awake: subsOf(instance).sockets().length,
        hibernatable: state.getWebSockets().length,
      }));
    expect(await counts()).toEqual({ awake: 1, hibernatable: 0 });
    client.close();
    const deadline = Date.now() + 5_000;
    while ((await counts()).awake !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await counts()).toEqual({ awake: 0, hibernatable: 0 });
  });

  it("count literal pings against the frame limit: a flood is closed with 1008", async () => {
    const symbol = "TSB-USDT";
    await configuredBook(symbol);
    const client = await WsClient.connect(symbol, (await trader()).token);
    // Past the trader limit of 2,000 frames a second (docs/websocket.md).
    for (let i = 0; i < 2_100; i++) client.send("ping");
    await client.until(() => client.closed !== null, 10_000);
    expect(client.closed!.code).toBe(1008);
    expect(client.frames.some((f) => f.type === "error" && f.code === "RATE_LIMITED")).toBe(true);
  });

  it("disconnect one that stops reading (1013) while one that pings stays open", async () => {
    const { reader } = await stallOneOfTwo("TSC-USDT", [(await trader()).token, (await trader()).token]);
    reader.close();
  });
});
