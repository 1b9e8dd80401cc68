import WebSocket from "ws";
import { cpuPerRequest, treeCpuMs, type TreeCpu } from "../auth/cpu";
import { summarize, type LoadFigures } from "../auth/load";

export interface SocketLoad {
  /** ws://127.0.0.1:<port>/api/v1/ws?market=… */
  url: string;
  /** One bearer token per socket. */
  tokens: string[];
  /** Frames each socket keeps in flight (sent, not yet answered). */
  inFlight: number;
  /** Orders a frame: 1 sends `order.place`, more send `order.batch`. */
  batch: number;
  seconds: number;
  warmupSeconds: number;
  /** The `order` body of the socket's next `order.place`. */
  order: (socket: number) => Record<string, unknown>;
}

/**
 * WebSocket order entry under load: one authenticated socket per token, each keeping
 * `inFlight` frames (`order.place`, or `order.batch` of `batch` orders) outstanding, a new one
 * for each answer, as a market maker's connection does. Ack latency is send → the
 * `result`/`error` frame with the same id; a batch's refused orders count as errors.
 */
export async function socketLoad(load: SocketLoad): Promise<LoadFigures & { firstError?: string }> {
  const samples: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const sockets = await Promise.all(
    load.tokens.map(
      (token) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(load.url, { headers: { authorization: `Bearer ${token}` } });
          ws.once("open", () => resolve(ws));
          ws.once("error", reject);
        }),
    ),
  );
  const started = performance.now();
  const measureFrom = started + load.warmupSeconds * 1000;
  const stopAt = measureFrom + load.seconds * 1000;
  let cpuAtStart: TreeCpu | undefined;
  let cpuAtEnd: TreeCpu | undefined;
  const cpuTimers = [
    setTimeout(() => (cpuAtStart = treeCpuMs()), load.warmupSeconds * 1000),
    setTimeout(() => (cpuAtEnd = treeCpuMs()), (load.warmupSeconds + load.seconds) * 1000),
  ];
  await Promise.all(
    sockets.map(
      (ws, s) =>
        new Promise<void>((resolve) => {
          const sentAt = new Map<number, number>();
          let nextId = 1;
          const send = () => {
            const id = nextId++;
            sentAt.set(id, performance.now());
            ws.send(
              JSON.stringify(
                load.batch > 1
                  ? { op: "order.batch", id, orders: Array.from({ length: load.batch }, () => load.order(s)) }
                  : { op: "order.place", id, order: load.order(s) },
              ),
            );
          };
          ws.on("message", (data) => {
            const frame = JSON.parse(String(data)) as {
              type: string;
              id?: number;
              error?: unknown;
              result?: { results?: { error?: unknown }[] };
            };
            if (frame.type !== "result" && frame.type !== "error") return;
            const t0 = sentAt.get(frame.id!);
            if (t0 === undefined) return;
            sentAt.delete(frame.id!);
            const now = performance.now();
            if (t0 >= measureFrom) {
              if (frame.type === "result") samples.push(now - t0);
              else errors++;
            }
            const refused = frame.error ?? frame.result?.results?.find((r) => r.error)?.error;
            if (refused && firstError === undefined) firstError = JSON.stringify(refused);
            if (now < stopAt) send();
            else if (sentAt.size === 0) resolve();
          });
          ws.on("close", () => resolve());
          for (let i = 0; i < load.inFlight; i++) send();
        }),
    ),
  );
  for (const ws of sockets) ws.close();
  cpuTimers.forEach(clearTimeout);
  const figures: LoadFigures = summarize(samples, errors, load.seconds);
  // CPU per frame over the measured window (the whole run's processes, and workerd's part).
  const frames = samples.length + errors;
  if (cpuAtStart && cpuAtEnd && frames > 0) {
    Object.assign(figures, cpuPerRequest(cpuAtStart, cpuAtEnd, frames));
  }
  return { ...figures, ...(firstError ? { firstError } : {}) };
}
