import type http from "node:http";

/** A JSON reply with its length: the loopback shims' (Upstash REST, Neon HTTP) one response shape. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}
