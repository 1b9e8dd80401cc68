import net from "node:net";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { errorMessage, log } from "./log";
import { HOST } from "./ports";

type Target = { host: string; port: number };

export interface NeonWsProxyOptions {
  port: number;
  /** Where a client's connection goes unless it asks for `direct`'s port (Neon's pooled endpoint). */
  target: Target;
  /**
   * Postgres itself, for a client whose address (`?address=host:port`, as the driver asks Neon's
   * proxy) names its port: Neon's direct endpoint, which the market objects' kept connections use.
   */
  direct?: Target;
}

/** The target a client asked for by the port of its `address`; the pooled one otherwise. */
function targetOf(url: string | undefined, options: NeonWsProxyOptions): Target {
  const address = new URL(url ?? "/", "ws://proxy").searchParams.get("address");
  const port = Number(address?.slice(address.lastIndexOf(":") + 1));
  return options.direct && port === options.direct.port ? options.direct : options.target;
}

export interface RunningNeonWsProxy {
  port: number;
  close(): Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Pipes one WebSocket (Postgres wire protocol in binary frames) to one TCP connection. */
function bridge(ws: WebSocket, target: Target): void {
  const tcp = net.connect(target.port, target.host);
  tcp.setNoDelay(true);
  const pending: Buffer[] = [];
  let connected = false;

  tcp.on("connect", () => {
    connected = true;
    for (const chunk of pending.splice(0)) tcp.write(chunk);
  });
  tcp.on("data", (chunk) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(chunk, { binary: true });
    // Backpressure: stop reading Postgres while the client is slow to drain.
    if (ws.bufferedAmount > 1 << 20) {
      tcp.pause();
      const resume = setInterval(() => {
        if (ws.readyState !== ws.OPEN || ws.bufferedAmount < 1 << 18) {
          clearInterval(resume);
          tcp.resume();
        }
      }, 5);
    }
  });
  tcp.on("error", (err) => log(`ws-proxy: postgres connection error: ${errorMessage(err)}`));
  tcp.on("close", () => ws.close());

  // The messages of one read from the client (a driver's pipelined statements) go to Postgres
  // in one write when the turn ends, not one system call each: the same bytes, in order.
  let corked = false;
  const uncork = () => {
    corked = false;
    tcp.uncork();
  };
  ws.on("message", (data) => {
    const chunk = toBuffer(data);
    if (!connected) {
      pending.push(chunk);
      return;
    }
    if (!corked) {
      corked = true;
      tcp.cork();
      process.nextTick(uncork);
    }
    tcp.write(chunk);
  });
  ws.on("error", () => tcp.destroy());
  ws.on("close", () => tcp.end());
}

/**
 * The Neon serverless driver speaks Postgres over a WebSocket. Locally it is configured with
 * `neonConfig.wsProxy = "127.0.0.1:<port>/v2"` and opens `ws://127.0.0.1:<port>/v2?address=<host:port>`;
 * this loopback-only proxy relays the bytes to the local PgBouncer, or to Postgres for a
 * client that asks for Postgres' own port.
 */
export function startNeonWsProxy(options: NeonWsProxyOptions): Promise<RunningNeonWsProxy> {
  return new Promise((resolve, reject) => {
    const wss = new WebSocketServer({ host: HOST, port: options.port, perMessageDeflate: false });
    wss.once("error", (err) => reject(new Error(`Neon WebSocket proxy: ${errorMessage(err)}`)));
    wss.on("connection", (ws, req) => bridge(ws, targetOf(req.url, options)));
    wss.once("listening", () => {
      const address = wss.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}
