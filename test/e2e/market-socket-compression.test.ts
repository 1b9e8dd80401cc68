import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerUnderTest, type WorkerUnderTest } from "../../bench/lib/worker-under-test";

// The market socket over a real HTTP server (compression is agreed there, not in the test pool's
// in-process fetch): a client offering permessage-deflate, as `ws` and browsers do, gets plain
// frames (durable-objects/market/ws/socket-server.ts says why) and is served.
describe("the market socket's compression", () => {
  let worker: WorkerUnderTest;

  beforeAll(async () => {
    worker = await startWorkerUnderTest("socket-compression");
  }, 180_000);

  afterAll(async () => {
    await worker?.close();
  });

  it("declines permessage-deflate offered by the client and answers a ping", async () => {
    const ws = new WebSocket(`${worker.base.replace("http", "ws")}/api/v1/ws?market=BTC-USDT`, {
      perMessageDeflate: true,
    });
    let accepted: string | undefined;
    ws.once("upgrade", (res) => (accepted = res.headers["sec-websocket-extensions"]));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    expect(accepted).toBeUndefined();
    expect(ws.extensions).toBe("");
    const pong = new Promise<Record<string, unknown>>((resolve) =>
      ws.once("message", (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>)),
    );
    ws.send(JSON.stringify({ op: "ping", id: 1 }));
    expect(await pong).toMatchObject({ type: "pong", id: 1 });
    ws.close();
  }, 30_000);
});
