import {
  HistogramSeries,
  LAG_BUCKETS,
  LATENCY_BUCKETS,
  timed,
  type MetricSnapshot,
  type SeriesSnapshot,
} from "../../src/lib/metrics/registry";
import type { CommandResult, MarketCommand, OutboxEntry } from "../../src/domain/market/commands";
import type { MarketStatus } from "../../src/domain/market/market-rules";

/** What the object knows at scrape time besides its counters. */
export interface MarketGauges {
  backlog: number;
  sockets: number;
  framesSent: number;
  framesReceived: number;
  openOrders: number;
  status: MarketStatus | null;
}

/** How often at most the object writes its deltas to Analytics Engine (one data point each time). */
const ANALYTICS_INTERVAL_MS = 10_000;

const STATUSES: readonly MarketStatus[] = ["trading", "halted", "cancel-only"];

/**
 * Where an intake flush's time goes (order-intake.ts): `queue` a call waits to join a group;
 * `commit` the storage writes made before the group's lock take to be durable (the output gate
 * holds the lock until then); `lock` the Postgres round trip after that; `wait` the outcomes wait
 * for the object (the next group taken and its lock put on the wire first); `run` match, journal,
 * fan-out and answers; `answer`
 * the run's writes take to be durable (the output gate holds the answers until then). Deployed,
 * workerd's clock advances only on I/O, so `wait` and `run` read 0 there and only a CPU profile
 * splits them; locally the clock is real.
 */
export const FLUSH_STAGES = ["queue", "commit", "lock", "wait", "run", "answer"] as const;
export type FlushStage = (typeof FLUSH_STAGES)[number];

/** Commands a flush carries: 1 to a few thousand. */
const GROUP_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/**
 * One market's operating numbers, counted inside its object where they happen: placements
 * accepted or refused (by reason), fills, settlement lag (from matching to the acknowledgement
 * after commit), funds-lock latency and failures. Plain numbers in memory: every hook is an
 * addition, never I/O, so the order path stays as fast as it was. They reset when the object
 * restarts (Prometheus' `rate()` handles counter resets).
 */
export class MarketMetrics {
  accepted = 0;
  fills = 0;
  lockErrors = 0;
  readonly refused = new Map<string, number>();
  private readonly lag = new HistogramSeries([], LAG_BUCKETS);
  private readonly lockLatency = new HistogramSeries([], LATENCY_BUCKETS);
  private readonly stages = FLUSH_STAGES.map((stage) => new HistogramSeries([stage], LATENCY_BUCKETS));
  private readonly groups = new HistogramSeries([], GROUP_BUCKETS);
  /** Outbox entries handed to settlement and not yet acknowledged: their sequence and match time. */
  private readonly pendingSeq: number[] = [];
  private readonly pendingTs: number[] = [];
  private pendingHead = 0;
  private lastPendingSeq = 0;
  private lastFlush = Date.now();
  private flushed = { accepted: 0, refused: 0, fills: 0, lagSum: 0, lagCount: 0 };

  /**
   * The outcome of every placement of one intake flush (cancels and amends are not orders), and
   * the flush's size.
   */
  observe(commands: readonly MarketCommand[], results: readonly CommandResult[]): void {
    this.groups.observe(commands.length);
    for (let i = 0; i < commands.length; i++) {
      const kind = commands[i]?.kind;
      if (kind !== "place" && kind !== "place_oco") continue;
      const r = results[i];
      // A retry's first result, or a book not yet configured (the Worker configures it and retries).
      if (!r || r.duplicate || (!r.ok && r.code === "MARKET_NOT_FOUND")) continue;
      if (r.ok) this.accepted++;
      else this.refused.set(r.code, (this.refused.get(r.code) ?? 0) + 1);
    }
  }

  /** Times one funds lock (the object's Postgres round trip) and counts its failures. */
  timeLock<T>(lock: Promise<T>): Promise<T> {
    return timed(() => lock, this.lockLatency, { inc: () => this.lockErrors++ });
  }

  /** One stage of one flush (or, for `queue`, of one call), in milliseconds. */
  stage(stage: FlushStage, ms: number): void {
    this.stages[FLUSH_STAGES.indexOf(stage)]!.observe(Math.max(0, ms) / 1000);
  }

  /** Entries read by a settler (the object's own, the cron's or a cancel's): their match times. */
  handedOut(entries: readonly Pick<OutboxEntry, "seq" | "ts">[]): void {
    for (const e of entries) {
      if (e.seq <= this.lastPendingSeq) continue;
      this.pendingSeq.push(e.seq);
      this.pendingTs.push(e.ts);
      this.lastPendingSeq = e.seq;
    }
  }

  /** Settlement committed and acknowledged everything up to `uptoSeq`: observe each entry's lag. */
  acknowledged(uptoSeq: number, now: number): void {
    let h = this.pendingHead;
    while (h < this.pendingSeq.length && this.pendingSeq[h]! <= uptoSeq) {
      this.lag.observe(Math.max(0, now - this.pendingTs[h]!) / 1000);
      h++;
    }
    if (h === this.pendingSeq.length) {
      this.pendingSeq.length = 0;
      this.pendingTs.length = 0;
      h = 0;
    }
    this.pendingHead = h;
  }

  /**
   * Writes what changed since the last write as one Analytics Engine data point, at most every
   * ten seconds (production's aggregate view; Prometheus scrapes the exact counters).
   */
  report(dataset: AnalyticsEngineDataset | undefined, market: string, now: number): void {
    if (!dataset || now - this.lastFlush < ANALYTICS_INTERVAL_MS) return;
    const refused = [...this.refused.values()].reduce((a, b) => a + b, 0);
    const f = this.flushed;
    dataset.writeDataPoint({
      indexes: [market],
      blobs: ["market", market],
      doubles: [
        this.accepted - f.accepted,
        refused - f.refused,
        this.fills - f.fills,
        this.lag.sum - f.lagSum,
        this.lag.count - f.lagCount,
      ],
    });
    this.flushed = {
      accepted: this.accepted,
      refused,
      fills: this.fills,
      lagSum: this.lag.sum,
      lagCount: this.lag.count,
    };
    this.lastFlush = now;
  }

  snapshot(market: string, g: MarketGauges): MetricSnapshot[] {
    const labels = { market };
    const one = (value: number): SeriesSnapshot[] => [{ labels, value }];
    const series = (h: HistogramSeries, more: Record<string, string> = {}): SeriesSnapshot => ({
      labels: { ...labels, ...more },
      counts: Array.from(h.counts),
      sum: h.sum,
      count: h.count,
    });
    const histogram = (h: HistogramSeries): SeriesSnapshot[] => [series(h)];
    return [
      {
        name: "pandora_orders_accepted_total",
        help: "Placements the market accepted (funds locked, order booked or filled)",
        type: "counter",
        series: one(this.accepted),
      },
      {
        name: "pandora_orders_refused_total",
        help: "Placements the market refused, by reason",
        type: "counter",
        series: [...this.refused].map(([reason, value]) => ({ labels: { market, reason }, value })),
      },
      { name: "pandora_fills_total", help: "Trades matched", type: "counter", series: one(this.fills) },
      {
        name: "pandora_settlement_lag_seconds",
        help: "Time from a fill's match to its settlement's acknowledgement",
        type: "histogram",
        buckets: LAG_BUCKETS,
        series: histogram(this.lag),
      },
      {
        name: "pandora_settlement_backlog",
        help: "Outbox entries (fills and order events) not yet settled into Postgres",
        type: "gauge",
        series: one(g.backlog),
      },
      {
        name: "pandora_funds_lock_duration_seconds",
        help: "The market object's Postgres round trip that locks a group of placements' funds",
        type: "histogram",
        buckets: LATENCY_BUCKETS,
        series: histogram(this.lockLatency),
      },
      {
        name: "pandora_funds_lock_errors_total",
        help: "Funds locks that failed or timed out (placements answered FUNDS_UNAVAILABLE)",
        type: "counter",
        series: one(this.lockErrors),
      },
      {
        name: "pandora_market_flush_stage_seconds",
        help: "Where an order group's time goes in the market object: queue (per call), commit, lock, wait, run, answer",
        type: "histogram",
        buckets: LATENCY_BUCKETS,
        series: this.stages.map((h) => series(h, { stage: h.labelValues[0]! })),
      },
      {
        name: "pandora_market_flush_commands",
        help: "Commands an order group (one funds lock, one storage transaction) carried",
        type: "histogram",
        buckets: GROUP_BUCKETS,
        series: histogram(this.groups),
      },
      { name: "pandora_market_sockets", help: "Open WebSockets", type: "gauge", series: one(g.sockets) },
      {
        name: "pandora_market_frames_sent_total",
        help: "WebSocket frames sent",
        type: "counter",
        series: one(g.framesSent),
      },
      {
        name: "pandora_market_frames_received_total",
        help: "WebSocket frames received",
        type: "counter",
        series: one(g.framesReceived),
      },
      {
        name: "pandora_market_open_orders",
        help: "Orders in the book (resting or waiting as stops)",
        type: "gauge",
        series: one(g.openOrders),
      },
      {
        name: "pandora_market_status",
        help: "1 for the market's current status (trading, halted, cancel-only)",
        type: "gauge",
        series: STATUSES.map((status) => ({
          labels: { market, status },
          value: g.status === status ? 1 : 0,
        })),
      },
    ];
  }
}
