// What the Worker and the AccountStream object exchange (no runtime import of the object, so
// the Worker's routes load in Node for the OpenAPI document test).

/** The header the Worker names a socket's kind with when it hands an upgrade over. */
export const SOCKET_HEADER = "x-account-socket";
/** The header naming the user whose stream the socket is (the object's own id is its hash). */
export const USER_HEADER = "x-account-user";

/** One private event, already in Binance's shape; `id` makes a repeated delivery a no-op. */
export interface AccountEvent {
  id: string;
  /** The event's JSON (`executionReport`, `outboundAccountPosition`, `balanceUpdate`). */
  event: string;
}
