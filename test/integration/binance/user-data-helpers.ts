import { SELF } from "cloudflare:test";
import { randomIp } from "../auth/helpers";
import { WsClient, type Frame } from "../market/ws-client";
import { ok, type BinanceClient } from "./helpers";

/**
 * A user-stream request: the API key in `X-MBX-APIKEY`, no signature (Binance's USER_STREAM).
 * From its own IP unless given one: the default IP's weight is shared by every file's requests.
 */
export function userStream(
  method: string,
  key: string | null,
  params: Record<string, string> = {},
  ip = randomIp(),
) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (key !== null) headers["x-mbx-apikey"] = key;
  headers["cf-connecting-ip"] = ip;
  return SELF.fetch("http://x/api/v3/userDataStream", {
    method,
    headers,
    body: new URLSearchParams(params).toString(),
  });
}

export async function listenKeyOf(c: BinanceClient): Promise<string> {
  return (await ok<{ listenKey: string }>(userStream("POST", c.key, {}, c.ip))).listenKey;
}

export async function openStream(listenKey: string): Promise<WsClient> {
  const res = await SELF.fetch(`http://x/ws/${listenKey}`, { headers: { Upgrade: "websocket" } });
  if (res.status !== 101 || !res.webSocket)
    throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  res.webSocket.accept();
  return WsClient.wrap(res.webSocket);
}

/** A frame of event type `e` that also matches `match`. */
export const event =
  (e: string, match: (f: Frame) => boolean = () => true) =>
  (f: Frame) =>
    f.e === e && match(f);
