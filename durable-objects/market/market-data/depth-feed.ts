export interface DepthUpdate {
  firstUpdateId: number;
  lastUpdateId: number;
  /** [price ticks, displayed lots]; 0 lots removes the level. */
  bids: [number, number][];
  asks: [number, number][];
}

/**
 * Incremental depth: every level change the engine reports is one update id; changes are
 * collected per batch and flushed as one update covering `firstUpdateId..lastUpdateId` with
 * each level's final quantity (as Binance's U/u). Applying it to a snapshot whose
 * last_update_id is firstUpdateId - 1 gives the book at lastUpdateId.
 */
export class DepthFeed {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private first = 0;

  constructor(public lastUpdateId = 0) {}

  onLevel(side: "buy" | "sell", price: number, quantity: number): void {
    this.lastUpdateId++;
    if (this.first === 0) this.first = this.lastUpdateId;
    (side === "buy" ? this.bids : this.asks).set(price, quantity);
  }

  /** The pending update, or null when no level changed since the last flush. */
  flush(): DepthUpdate | null {
    if (this.first === 0) return null;
    const update: DepthUpdate = {
      firstUpdateId: this.first,
      lastUpdateId: this.lastUpdateId,
      bids: [...this.bids].sort((a, b) => b[0] - a[0]),
      asks: [...this.asks].sort((a, b) => a[0] - b[0]),
    };
    this.bids.clear();
    this.asks.clear();
    this.first = 0;
    return update;
  }
}

/** A client-side book that applies snapshots and updates as the protocol says (used by tests and the bench). */
export class LocalBook {
  lastUpdateId = 0;
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();

  applySnapshot(s: { last_update_id: number; bids: [string, string][]; asks: [string, string][] }): void {
    this.bids.clear();
    this.asks.clear();
    for (const [p, q] of s.bids) this.bids.set(p, q);
    for (const [p, q] of s.asks) this.asks.set(p, q);
    this.lastUpdateId = s.last_update_id;
  }

  /** Returns false when the update does not follow on (the client must resubscribe). */
  applyUpdate(u: {
    first_update_id: number;
    last_update_id: number;
    bids: [string, string][];
    asks: [string, string][];
  }): boolean {
    if (u.last_update_id <= this.lastUpdateId) return true; // already covered by the snapshot
    if (u.first_update_id > this.lastUpdateId + 1) return false;
    for (const [side, levels] of [
      [this.bids, u.bids],
      [this.asks, u.asks],
    ] as const) {
      for (const [p, q] of levels) {
        if (/^0(\.0*)?$/.test(q)) side.delete(p);
        else side.set(p, q);
      }
    }
    this.lastUpdateId = u.last_update_id;
    return true;
  }

  /** Best-first levels, the shape of REST depth. */
  levels(): { bids: [string, string][]; asks: [string, string][] } {
    const sort = (m: Map<string, string>, desc: boolean) =>
      [...m].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
    return { bids: sort(this.bids, true), asks: sort(this.asks, false) };
  }
}
