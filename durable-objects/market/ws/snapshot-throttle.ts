/** A socket's balance snapshots read Postgres at most this often. */
export const BALANCE_SNAPSHOT_INTERVAL_MS = 1_000;

interface SocketReads {
  /** When the socket's last read started. */
  last: number;
  /** The read waiting for its turn or running: later requests share it. */
  pending?: Promise<void>;
}

/**
 * Per-socket throttle of the `balances` snapshot reads, the only Postgres reads a subscriber can
 * cause inside the matching object: a socket's reads run one at a time and at most one per
 * interval, and requests made meanwhile share the pending read instead of adding their own.
 * A client that subscribes in a loop costs one read a second, not one per frame.
 */
export class SnapshotThrottle {
  private readonly sockets = new WeakMap<WebSocket, SocketReads>();

  constructor(private readonly intervalMs = BALANCE_SNAPSHOT_INTERVAL_MS) {}

  /** Runs `read` for `ws` in its turn, or joins the read already pending for it. */
  run(ws: WebSocket, read: () => Promise<void>): Promise<void> {
    let state = this.sockets.get(ws);
    if (!state) this.sockets.set(ws, (state = { last: -Infinity }));
    if (state.pending) return state.pending;
    const s = state;
    const wait = s.last + this.intervalMs - Date.now();
    s.pending = (async () => {
      try {
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        s.last = Date.now();
        await read();
      } finally {
        s.pending = undefined;
      }
    })();
    return s.pending;
  }
}
