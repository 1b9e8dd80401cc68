/**
 * Every socket upgrade declines permessage-deflate. Left unsaid, the runtime accepts a client's
 * offer (`ws` and browsers offer it) and deflates every frame, once per socket: a broadcast once
 * per subscriber, on the one thread of the object that holds the sockets. At the market
 * socket's order entry that was 6-7% of workerd's CPU, for frames of a few hundred bytes. The
 * runtime takes this header as the server's preference and agrees on the extensions both sides
 * name: none (the header is not sent on).
 */
const NO_COMPRESSION = { "Sec-WebSocket-Extensions": "x-no-compression" };

/** The 101 answer that hands `client` (the pair's client end) over, uncompressed. */
export function webSocketUpgrade(client: WebSocket): Response {
  return new Response(null, { status: 101, webSocket: client, headers: NO_COMPRESSION });
}
