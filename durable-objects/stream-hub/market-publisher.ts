import type { Batch } from "../market/batch";
import type { Market } from "../market/market";
import type { DepthUpdate } from "../market/market-data/depth-feed";
import { INTERVAL_NAMES } from "../market/market-data/candles";
import type { MarketDataQueries } from "../market/market-data/queries";
import { candleView, levels, type CandleView } from "../market/messages";
import type { StreamHub } from "./stream-hub";
import { TOP_LEVELS, type BookTop, type MarketStreamEvent, type MarketStreamState } from "./market-event";

interface HubLink {
  stub: DurableObjectStub<StreamHub>;
  /** Attach calls seen from this hub. */
  attaches: number;
}

/**
 * The market object's side of the stream hubs: which hubs subscribed (kept in the object's
 * SQLite, so a restarted object keeps feeding them) and one event per batch to each. A hub that
 * answers false no longer has subscribers of this market and is dropped. Nothing is built while
 * no hub listens, so a market without stream subscribers pays one size check per batch.
 */
export class MarketPublisher {
  private hubs: Map<string, HubLink> | null = null;

  constructor(
    private readonly sql: SqlStorage,
    private readonly namespace: DurableObjectNamespace<StreamHub> | undefined,
    private readonly market: () => Market,
    private readonly queries: MarketDataQueries,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Registers a hub (idempotent) and returns the market's current state, or null when unconfigured. */
  attach(hub: string): MarketStreamState | null {
    const m = this.market();
    if (!m.rules || !this.namespace || typeof hub !== "string" || hub.length > 64) return null;
    const hubs = this.loaded();
    const link = hubs.get(hub);
    // A newer attach outlives the "no longer wanted" answer to an event sent before it.
    if (link) link.attaches++;
    else {
      this.sql.exec("INSERT OR IGNORE INTO stream_hubs (name) VALUES (?)", hub);
      hubs.set(hub, { stub: this.namespace.get(this.namespace.idFromName(hub)), attaches: 1 });
    }
    const now = Date.now();
    return {
      symbol: m.symbol,
      ts: now,
      top: this.top(),
      ticker: this.queries.ticker(now)!,
      candles: this.candles(),
    };
  }

  /**
   * Sends a committed batch's public events to every subscribed hub, after the depth feed was
   * flushed into `depth`. Not awaited: hubs never slow the book.
   */
  publish(batch: Batch, depth: DepthUpdate | null): void {
    const hubs = this.loaded();
    const m = this.market();
    if (hubs.size === 0 || !m.rules || (!depth && batch.trades.length === 0)) return;
    const grid = m.rules.grid;
    const event: MarketStreamEvent = { symbol: m.symbol, ts: batch.ts };
    if (depth) {
      event.depth = {
        first: depth.firstUpdateId,
        last: depth.lastUpdateId,
        bids: levels(grid, depth.bids),
        asks: levels(grid, depth.asks),
      };
      event.top = this.top();
    }
    if (batch.trades.length) {
      event.trades = batch.trades.map((t) => ({
        id: t.id,
        price: grid.price(t.price),
        quantity: grid.quantity(t.quantity),
        buyerMaker: t.takerSide === "sell",
        ts: t.ts,
      }));
      event.ticker = this.queries.ticker(batch.ts)!;
      event.candles = this.candles();
    }
    // One stub per hub, kept: calls on one stub arrive in order, so depth updates stay contiguous.
    for (const [name, link] of hubs) {
      const attaches = link.attaches;
      link.stub.publish(event).then(
        (wanted) => {
          if (!wanted && hubs.get(name)?.attaches === attaches) this.detach(name);
        },
        (err: unknown) => this.onError(err),
      );
    }
  }

  private top(): BookTop {
    const d = this.queries.depth(TOP_LEVELS)!;
    return { lastUpdateId: d.last_update_id, bids: d.bids, asks: d.asks };
  }

  private candles(): CandleView[] {
    const m = this.market();
    const out: CandleView[] = [];
    for (const interval of INTERVAL_NAMES) {
      const c = m.candles.currentOf(interval);
      if (c) out.push(candleView(m.rules!.grid, c));
    }
    return out;
  }

  private detach(hub: string): void {
    this.hubs?.delete(hub);
    this.sql.exec("DELETE FROM stream_hubs WHERE name = ?", hub);
  }

  private loaded(): Map<string, HubLink> {
    if (this.hubs) return this.hubs;
    this.sql.exec("CREATE TABLE IF NOT EXISTS stream_hubs (name TEXT PRIMARY KEY)");
    const ns = this.namespace;
    this.hubs = new Map(
      ns
        ? this.sql
            .exec<{ name: string }>("SELECT name FROM stream_hubs")
            .toArray()
            .map((r) => [r.name, { stub: ns.get(ns.idFromName(r.name)), attaches: 0 }])
        : [],
    );
    return this.hubs;
  }
}
