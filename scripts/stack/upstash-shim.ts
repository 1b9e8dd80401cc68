import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import { sendJson } from "./json-reply";
import { parseJsonBytes } from "./json-array";
import { errorMessage } from "./log";
import { HOST } from "./ports";
import { RedisPool } from "./redis-client";
import { RespError, type RespArg, type RespValue } from "./resp";
import { toRespArgs, toUpstashJson, type Json } from "./upstash-encoding";
import { LuaScripts } from "./upstash-scripts";

export interface UpstashShimOptions {
  port: number;
  token: string;
  redis: { host: string; port: number };
}

export interface RunningUpstashShim {
  port: number;
  url: string;
  close(): Promise<void>;
}

// Commands that change the state of a (pooled, shared) connection: REST has no session.
const UNSUPPORTED = new Set([
  "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "SELECT", "SUBSCRIBE", "PSUBSCRIBE",
  "SSUBSCRIBE", "MONITOR", "QUIT", "RESET", "HELLO", "AUTH", "CLIENT",
]); // prettier-ignore

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Reply = { result: Json } | { error: string };

function authorized(req: http.IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = header.startsWith("Bearer ") ? header.slice(7) : (url.searchParams.get("_token") ?? "");
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return parseJsonBytes(body);
  } catch {
    throw new HttpError(400, "ERR failed to parse the request body as JSON");
  }
}

export function startUpstashShim(options: UpstashShimOptions): Promise<RunningUpstashShim> {
  const pool = new RedisPool(options.redis.host, options.redis.port);
  const scripts = new LuaScripts();

  /** Validates and rewrites one command; a RespError marks a command that is not sent. */
  function prepare(command: unknown): RespArg[] | RespError {
    try {
      const args = toRespArgs(command);
      const name = String(args[0]).toUpperCase();
      if (UNSUPPORTED.has(name)) return new RespError(`ERR ${name} is not supported over REST`);
      return scripts.rewrite(args);
    } catch (err) {
      return err instanceof RespError ? err : new RespError(`ERR ${errorMessage(err)}`);
    }
  }

  async function runOnRedis(commands: RespArg[][]): Promise<RespValue[]> {
    try {
      return await pool.run(commands);
    } catch (err) {
      throw new HttpError(502, `ERR local redis unavailable: ${errorMessage(err)}`);
    }
  }

  function toReply(command: unknown, value: RespValue, base64: boolean): Reply {
    if (value instanceof RespError) return { error: value.message };
    const loaded = Array.isArray(command) ? scripts.loadedSha(command as RespArg[]) : undefined;
    return { result: toUpstashJson(loaded !== undefined ? Buffer.from(loaded) : value, base64) };
  }

  async function single(command: unknown, base64: boolean): Promise<Reply> {
    const args = prepare(command);
    if (args instanceof RespError) throw new HttpError(400, args.message);
    const [value] = await runOnRedis([args]);
    // Upstash answers a failed single command as {error} with HTTP 400.
    if (value instanceof RespError) throw new HttpError(400, value.message);
    return toReply(command, value ?? null, base64);
  }

  async function pipeline(commands: unknown, base64: boolean): Promise<Reply[]> {
    if (!Array.isArray(commands)) throw new HttpError(400, "ERR pipeline body must be an array");
    const prepared = commands.map(prepare);
    const runnable = prepared.filter((c): c is RespArg[] => !(c instanceof RespError));
    const values = runnable.length > 0 ? await runOnRedis(runnable) : [];
    let next = 0;
    return prepared.map((c, i) =>
      c instanceof RespError ? { error: c.message } : toReply(commands[i], values[next++] ?? null, base64),
    );
  }

  async function multiExec(commands: unknown, base64: boolean): Promise<Reply[]> {
    if (!Array.isArray(commands)) throw new HttpError(400, "ERR multi-exec body must be an array");
    const prepared = commands.map(prepare);
    const invalid = prepared.find((c): c is RespError => c instanceof RespError);
    if (invalid) throw new HttpError(400, invalid.message);
    const values = await runOnRedis([["MULTI"], ...(prepared as RespArg[][]), ["EXEC"]]);
    const exec = values[values.length - 1];
    if (!Array.isArray(exec)) {
      const queueError = values.find((v): v is RespError => v instanceof RespError);
      const reason = exec instanceof RespError ? exec.message : "EXECABORT transaction aborted";
      throw new HttpError(400, queueError ? `${reason}: ${queueError.message}` : reason);
    }
    return exec.map((value, i) => toReply(commands[i], value, base64));
  }

  /** `/set/key/value` style: path segments are the command; a POST body is the last argument. */
  function pathCommand(url: URL, body: string): string[] {
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    return body.length > 0 ? [...segments, body] : segments;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${HOST}`);
    if (!authorized(req, url, options.token)) {
      sendJson(res, 401, { error: "Unauthorized" });
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const body = await readBody(req);
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/pipeline") sendJson(res, 200, await pipeline(parseJson(body), base64));
    else if (path === "/multi-exec") sendJson(res, 200, await multiExec(parseJson(body), base64));
    else if (path === "") sendJson(res, 200, await single(parseJson(body), base64));
    else sendJson(res, 200, await single(pathCommand(url, body.toString("utf8")), base64));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: errorMessage(err) });
      else res.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`Upstash shim: ${errorMessage(err)}`)));
    server.listen(options.port, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : options.port;
      resolve({
        port,
        url: `http://${HOST}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            pool.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
