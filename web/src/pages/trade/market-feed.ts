import { signal } from "@preact/signals";
import { LocalBook } from "../../../../durable-objects/market/market-data/depth-feed";
import type { Schemas } from "../../api/client";
import { MarketSocket, type Frame, type SocketStatus } from "../../lib/market-socket";

export type Ticker = Schemas["Ticker"];
export type PublicTrade = Schemas["Trade"];
export type Candle = Schemas["Candle"];
export type Balance = Schemas["Balance"];
export type Level = [string, string];

export const INTERVALS = ["1m", "5m", "15m", "1h", "4h", "1d"] as const;
export type Interval = (typeof INTERVALS)[number];

const BOOK_LEVELS = 15;
const RECENT_TRADES = 30;

/**
 * Everything the trading page shows live, fed by one market socket: the book (snapshot + diffs
 * checked by update id, resubscribed on a gap), trades, ticker, the current candle, and the
 * signed-in user's balances and order events.
 */
export class MarketFeed {
  readonly status = signal<SocketStatus>("connecting");
  readonly book = signal<{ bids: Level[]; asks: Level[]; lastUpdateId: number } | null>(null);
  readonly trades = signal<PublicTrade[]>([]);
  readonly ticker = signal<Ticker | null>(null);
  readonly candle = signal<Candle | null>(null);
  readonly balances = signal<Record<string, Balance>>({});
  /** Bumped on every private order or balance frame: the page then re-reads orders and trades. */
  readonly accountVersion = signal(0);
  /** How many depth gaps forced a resync (shown in the page's data attributes for tests). */
  readonly resyncs = signal(0);

  private readonly local = new LocalBook();
  private readonly socket: MarketSocket;
  private interval: Interval;

  constructor(
    readonly symbol: string,
    token: string | null,
    interval: Interval,
  ) {
    this.interval = interval;
    this.socket = new MarketSocket(
      symbol,
      token,
      (f) => this.onFrame(f),
      (s) => (this.status.value = s),
    );
    this.socket.subscribe(`depth:${symbol}`, `trades:${symbol}`, `ticker:${symbol}`, this.candleChannel());
    this.socket.subscribePrivate(`orders:${symbol}`, `balances:${symbol}`);
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
  }

  setToken(token: string | null): void {
    if (!token) this.balances.value = {};
    this.socket.setToken(token);
  }

  setInterval(interval: Interval): void {
    if (interval === this.interval) return;
    this.socket.unsubscribe(this.candleChannel());
    this.interval = interval;
    this.candle.value = null;
    this.socket.subscribe(this.candleChannel());
  }

  private candleChannel(): string {
    return `candles:${this.interval}:${this.symbol}`;
  }

  private onFrame(f: Frame): void {
    const channel = f.channel ?? "";
    const kind = channel.split(":")[0];
    if (kind === "depth") this.onDepth(f);
    else if (kind === "trades") this.onTrades(f);
    else if (kind === "ticker" && f.type === "ticker") this.ticker.value = f as unknown as Ticker;
    else if (kind === "candles" && channel === this.candleChannel()) this.onCandle(f);
    else if (kind === "balances") this.onBalances(f);
    else if (kind === "orders") this.accountVersion.value++;
  }

  private onDepth(f: Frame): void {
    if (f.type === "snapshot") {
      this.local.applySnapshot(f as unknown as Parameters<LocalBook["applySnapshot"]>[0]);
    } else if (f.type === "update") {
      if (!this.local.applyUpdate(f as unknown as Parameters<LocalBook["applyUpdate"]>[0])) {
        // A missed diff: the book is wrong until a fresh snapshot replaces it.
        this.resyncs.value++;
        this.book.value = null;
        this.socket.resubscribe(`depth:${this.symbol}`);
        return;
      }
    } else return;
    // The first live book since navigation, for `npm run bench:web` (and any real-user monitoring).
    if (performance.getEntriesByName("book-live").length === 0) performance.mark("book-live");
    const { bids, asks } = this.local.levels();
    this.book.value = {
      bids: bids.slice(0, BOOK_LEVELS),
      asks: asks.slice(0, BOOK_LEVELS),
      lastUpdateId: this.local.lastUpdateId,
    };
  }

  private onTrades(f: Frame): void {
    if (f.type === "snapshot") this.trades.value = (f.trades as PublicTrade[]).slice(0, RECENT_TRADES);
    else if (f.type === "trade")
      this.trades.value = [f as unknown as PublicTrade, ...this.trades.value].slice(0, RECENT_TRADES);
  }

  private onCandle(f: Frame): void {
    if (f.type === "snapshot") this.candle.value = (f.candle as Candle | null) ?? this.candle.value;
    else if (f.type === "candle") this.candle.value = f as unknown as Candle;
  }

  private onBalances(f: Frame): void {
    const next = { ...this.balances.value };
    if (f.type === "snapshot") for (const b of f.balances as Balance[]) next[b.asset] = b;
    else if (f.type === "balance") {
      const b = f as unknown as Balance;
      next[b.asset] = { asset: b.asset, available: b.available, locked: b.locked };
    } else return;
    this.balances.value = next;
    this.accountVersion.value++;
  }
}
