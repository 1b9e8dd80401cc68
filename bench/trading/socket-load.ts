import type { Socket } from "node:net";
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
 * The client's TCP socket (`ws` has no public cork; its own sends cork it the same way). A
 * private field: undefined if a `ws` version lacks it, and the sends then go uncorked.
 */
const tcpOf = (ws: WebSocket) => (ws as unknown as { _socket?: Socket })._socket;

/** An answer frame's type and id, read from its start (`JSON.stringify({ type, id, … })` in the object). */
const ANSWER_START = /^\{"type":"(result|error)","id":(\d+)[,}]/;
/** A refused order inside an answer (`"error":{…}` never occurs inside a JSON string: its quotes are escaped). */
const REFUSED = '"error":{';

/**
 * The id of a `result` or `error` frame and whether it is a result; null for any other frame.
 * Only the start of the frame is read: parsing thousands of answers a second whole cost the
 * client more than the rest of its work.
 */
function answerOf(text: string): { id: number; ok: boolean } | null {
  const start = ANSWER_START.exec(text);
  if (start) return { id: Number(start[2]), ok: start[1] === "result" };
  const frame = JSON.parse(text) as { type?: string; id?: unknown };
  if ((frame.type !== "result" && frame.type !== "error") || typeof frame.id !== "number") return null;
  return { id: frame.id, ok: frame.type === "result" };
}

/**
 * The first refusal in an answer: an order's error frame (`error`), a protocol error frame
 * (top-level `code` and `message`), or a batch's first refused order's.
 */
function refusalOf(text: string): string | undefined {
  const frame = JSON.parse(text) as {
    error?: unknown;
    code?: string;
    message?: string;
    result?: { results?: { error?: unknown }[] };
  };
  const refused =
    frame.error ??
    (frame.code ? { code: frame.code, message: frame.message } : undefined) ??
    frame.result?.results?.find((r) => r.error)?.error;
  return refused === undefined ? undefined : JSON.stringify(refused);
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
          // The answers of a group arrive together: the frames sent for them leave in one write
          // when the turn ends, not one system call each (the same frames, sent in the same turn).
          const tcp = tcpOf(ws);
          let corked = false;
          const uncork = () => {
            corked = false;
            tcp?.uncork();
          };
          ws.on("message", (data) => {
            const text = String(data);
            const answer = answerOf(text);
            if (!answer) return;
            const t0 = sentAt.get(answer.id);
            if (t0 === undefined) return;
            sentAt.delete(answer.id);
            const now = performance.now();
            if (t0 >= measureFrom) {
              if (answer.ok) samples.push(now - t0);
              else errors++;
            }
            if (firstError === undefined && (!answer.ok || text.includes(REFUSED)))
              firstError = refusalOf(text);
            if (now < stopAt) {
              if (tcp && !corked) {
                corked = true;
                tcp.cork();
                process.nextTick(uncork);
              }
              send();
            } else if (sentAt.size === 0) resolve();
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
