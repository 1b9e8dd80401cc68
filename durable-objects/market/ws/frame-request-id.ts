let prefix = "";
let count = 0;

/**
 * The request id of one order-entry frame (its audit rows and events carry it, as a REST call's
 * carry its `X-Request-Id`): `<uuid>:<n>`, one random UUID per isolate (made on first use: the
 * runtime gives no random values at module scope) and a counter. Unique as a UUID per frame
 * is, without a `crypto.randomUUID` per frame (~4% of a socket frame's cost at order.place);
 * `request_id` is free text (a client may send any `[A-Za-z0-9._:-]{1,128}`).
 */
export function frameRequestId(): string {
  if (!prefix) prefix = crypto.randomUUID();
  return `${prefix}:${++count}`;
}
