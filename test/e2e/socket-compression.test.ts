import { connect } from "node:net";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerUnderTest, type WorkerUnderTest } from "../../bench/lib/worker-under-test";
import { openNodeDatabase } from "../../scripts/lib/node-database";
import { ccxtTrader } from "./binance-ccxt-helpers";

type Frame = Record<string, unknown>;

/**
 * Opens `path` offering permessage-deflate, as `ws` and browsers do; resolves with the socket
 * and the extensions the server's 101 named.
 */
async function offerDeflate(base: string, path: string): Promise<{ ws: WebSocket; accepted?: string }> {
  const ws = new WebSocket(`${base.replace("http", "ws")}${path}`, { perMessageDeflate: true });
  let accepted: string | undefined;
  ws.once("upgrade", (res) => (accepted = res.headers["sec-websocket-extensions"]));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return { ws, accepted };
}

/** Sends `request` and resolves with the next frame. */
function ask(ws: WebSocket, request: Frame): Promise<Frame> {
  const reply = new Promise<Frame>((resolve) =>
    ws.once("message", (data) => resolve(JSON.parse(String(data)) as Frame)),
  );
  ws.send(JSON.stringify(request));
  return reply;
}

// Every socket over a real HTTP server (compression is agreed there, not in the test pool's
// in-process fetch): a client offering permessage-deflate gets plain frames (src/lib/
// websocket-upgrade.ts says why) and is served.
describe("sockets decline permessage-deflate", () => {
  let worker: WorkerUnderTest;

  beforeAll(async () => {
    worker = await startWorkerUnderTest("socket-compression");
  }, 180_000);

  afterAll(async () => {
    await worker?.close();
  });

  it.each([
    ["the market socket", "/api/v1/ws?market=BTC-USDT", { op: "ping", id: 1 }, { type: "pong", id: 1 }],
    [
      "the market streams (stream hub)",
      "/ws",
      { method: "LIST_SUBSCRIPTIONS", id: 1 },
      { result: [], id: 1 },
    ],
    ["the WebSocket API", "/ws-api/v3", { method: "ping", id: "1" }, { id: "1", status: 200 }],
  ])(
    "%s: declined and answered",
    async (_name, path, request, reply) => {
      const { ws, accepted } = await offerDeflate(worker.base, path);
      expect(accepted).toBeUndefined();
      expect(ws.extensions).toBe("");
      expect(await ask(ws, request)).toMatchObject(reply);
      ws.close();
    },
    30_000,
  );

  // RFC 6455 4.1: a client fails the connection when the 101 names an extension it did not
  // offer, so the header the upgrade sets must never reach the wire.
  it("a client offering nothing is served, and no 101 names an extension", async () => {
    const ws = new WebSocket(`${worker.base.replace("http", "ws")}/api/v1/ws?market=BTC-USDT`, {
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    expect(await ask(ws, { op: "ping", id: 2 })).toMatchObject({ type: "pong", id: 2 });
    ws.close();

    const { hostname, port } = new URL(worker.base);
    const head = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () =>
        socket.write(
          [
            "GET /api/v1/ws?market=BTC-USDT HTTP/1.1",
            `Host: ${hostname}:${port}`,
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
            "",
            "",
          ].join("\r\n"),
        ),
      );
      let got = "";
      socket.on("data", (chunk) => {
        got += chunk.toString("latin1");
        const end = got.indexOf("\r\n\r\n");
        if (end >= 0) {
          socket.destroy();
          resolve(got.slice(0, end));
        }
      });
      socket.once("error", reject);
    });
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head.toLowerCase()).not.toContain("sec-websocket-extensions");
  }, 30_000);

  it("the user data stream: declined", async () => {
    const db = openNodeDatabase(worker.info.databaseUrl, worker.info.neonWsProxy);
    try {
      const trader = await ccxtTrader(worker, db, "deflate", {});
      const res = await fetch(`${worker.base}/api/v3/userDataStream`, {
        method: "POST",
        headers: { "X-MBX-APIKEY": trader.apiKey },
      });
      const { listenKey } = (await res.json()) as { listenKey: string };
      const { ws, accepted } = await offerDeflate(worker.base, `/ws/${listenKey}`);
      expect(accepted).toBeUndefined();
      expect(ws.extensions).toBe("");
      ws.close();
    } finally {
      await db.pool.end();
    }
  }, 60_000);
});
