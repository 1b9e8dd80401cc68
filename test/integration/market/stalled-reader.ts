import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { OrderBook } from "../../../durable-objects/order-book";
import { configuredBook, randomCommands } from "./helpers";
import { WsClient, type Frame } from "./ws-client";

/**
 * Two clients of one book with a 16 KiB backlog limit, subscribed to depth and trades; 600
 * placements go by while `reader` shows it is alive with the literal heartbeat and `stalled`
 * says nothing: `stalled` is closed 1013 and `reader` stays open. With `tokens` the sockets
 * are authenticated at the upgrade (traders', not hibernatable). Returns the book and the reader.
 */
export async function stallOneOfTwo(symbol: string, tokens: [string?, string?] = []) {
  const book = await configuredBook(symbol);
  await runInDurableObject(book, (instance: OrderBook) => {
    (instance as unknown as { subs: { limits: { maxBacklogBytes: number } } }).subs.limits.maxBacklogBytes =
      16_384;
  });
  const reader = await WsClient.connect(symbol, tokens[0]);
  const stalled = await WsClient.connect(symbol, tokens[1]);
  for (const c of [reader, stalled]) {
    c.send({ op: "subscribe", id: 1, channels: [`depth:${symbol}`, `trades:${symbol}`] });
    await c.next((f: Frame) => f.type === "snapshot");
  }
  const commands = randomCommands(5, 600, "s");
  for (let i = 0; i < commands.length; i += 20) {
    await book.placeBatch(commands.slice(i, i + 20));
    // A reading client shows it is alive with the literal heartbeat (the runtime answers it, or
    // the object a trader's socket), which resets its backlog.
    const from = reader.frames.length;
    reader.send("ping");
    await reader.next((f) => f.type === "auto-pong", from);
  }
  await stalled.until(() => stalled.closed !== null);
  expect(stalled.closed).toEqual({ code: 1013, reason: expect.stringMatching(/not reading/) });
  expect(reader.closed).toBeNull();
  return { book, reader };
}
