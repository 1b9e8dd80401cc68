import { readBalanceUpdates } from "../../../src/domain/ledger/balance-updates";
import type { FanOut } from "../fan-out";
import type { KeptDatabase } from "../kept-database";
import type { Market } from "../market";
import { MAX_DEPTH, type MarketDataQueries } from "../market-data/queries";
import { candleView } from "../messages";
import { errorFrame, type ParsedChannel } from "./protocol";
import { SnapshotThrottle } from "./snapshot-throttle";
import type { Subscriptions } from "./subscriptions";

/** Recent trades sent when a client subscribes to `trades` (newest first). */
export const TRADES_SNAPSHOT = 50;

/** The current state of a channel, sent right after subscribing; diffs follow. */
export class ChannelSnapshots {
  private readonly balanceReads = new SnapshotThrottle();

  constructor(
    private readonly subs: Subscriptions,
    private readonly market: () => Market,
    private readonly queries: MarketDataQueries,
    private readonly fanOut: FanOut,
    /** The sockets' Postgres reads, over the object's kept connection. */
    private readonly reads: KeptDatabase,
  ) {}

  async send(
    ws: WebSocket,
    channel: ParsedChannel,
    userId: string | null,
    id: unknown,
    now: number,
  ): Promise<void> {
    if (channel.kind === "balances") return this.sendBalances(ws, channel.name, userId!, id);
    const m = this.market();
    const grid = m.rules!.grid;
    let frame: unknown;
    switch (channel.kind) {
      case "depth": {
        const view = this.queries.depth(MAX_DEPTH)!;
        frame = {
          type: "snapshot",
          channel: channel.name,
          last_update_id: view.last_update_id,
          bids: view.bids,
          asks: view.asks,
        };
        break;
      }
      case "trades":
        frame = {
          type: "snapshot",
          channel: channel.name,
          trades: this.queries.recentTrades(TRADES_SNAPSHOT),
        };
        break;
      case "ticker":
        frame = { type: "ticker", channel: channel.name, ...this.queries.ticker(now) };
        break;
      case "candles": {
        const c = m.candles.currentOf(channel.interval!);
        frame = { type: "snapshot", channel: channel.name, candle: c ? candleView(grid, c) : null };
        break;
      }
      case "orders":
        frame = { type: "snapshot", channel: channel.name, orders: userId ? m.openOrders(userId) : [] };
        break;
    }
    this.subs.send(ws, JSON.stringify(frame), now);
  }

  /**
   * The user's balances in the market's two assets, read from Postgres on subscribe over the
   * object's kept connection (throttled per socket: see SnapshotThrottle) and merged with what it
   * has seen, so the snapshot is never older than an update already sent to the socket.
   */
  private async sendBalances(ws: WebSocket, channel: string, userId: string, id: unknown): Promise<void> {
    const rules = this.market().rules!.rules;
    const assets = [rules.baseAsset, rules.quoteAsset];
    const balances = this.fanOut.balances;
    let failed = false;
    try {
      await this.balanceReads.run(ws, async () => {
        const read = await this.reads.use((db) => readBalanceUpdates(db, userId, assets));
        for (const u of read) balances.offer(u);
      });
    } catch {
      failed = true;
    }
    const now = Date.now();
    if (!this.subs.attachment(ws)?.channels.includes(channel)) return; // unsubscribed meanwhile
    if (failed) {
      this.subs.send(
        ws,
        errorFrame(
          id,
          "INTERNAL_ERROR",
          "Balances could not be read now: updates follow, GET /api/v1/wallets has them",
        ),
        now,
      );
    }
    this.subs.send(
      ws,
      JSON.stringify({ type: "snapshot", channel, balances: balances.of(userId, assets) }),
      now,
    );
  }
}
