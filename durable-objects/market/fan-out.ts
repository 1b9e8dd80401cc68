import { formatUnits } from "../../src/lib/money";
import type { BalanceUpdate } from "../../src/domain/ledger/balance-updates";
import { isBalanceUpdate, view, type LatestBalances } from "./balances";
import type { Batch } from "./batch";
import type { LockOutcome, OutboxEntry, PlacementFunding } from "../../src/domain/market/commands";
import type { Market } from "./market";
import { INTERVAL_NAMES } from "./market-data/candles";
import type { MarketDataQueries } from "./market-data/queries";
import { candleView, depthUpdateFrame } from "./messages";
import type { MarketPublisher } from "../stream-hub/market-publisher";
import type { Subscriptions } from "./ws/subscriptions";

/**
 * Fan-out: what a committed batch changed, sent to the sockets subscribed to it. Public events
 * (depth, trades, ticker, candles) go to every subscriber of the channel; private ones (orders,
 * balances) only to their owner's sockets. Runs after the storage transaction commits.
 */
export class FanOut {
  constructor(
    private readonly subs: Subscriptions,
    private readonly market: () => Market,
    private readonly queries: MarketDataQueries,
    /** The latest balance each user's sockets were sent (see LatestBalances). */
    readonly balances: LatestBalances,
    /** The stream hubs (Binance market streams) this market feeds. */
    private readonly hubs?: Pick<MarketPublisher, "publish">,
  ) {}

  /** A committed batch's events. */
  publish(batch: Batch): void {
    this.publishPublic(batch);
    this.publishOrders(batch.outbox, batch.ts);
  }

  private publishPublic(batch: Batch): void {
    const m = this.market();
    const grid = m.rules!.grid;
    const symbol = m.symbol;
    const now = batch.ts;
    const update = m.depth.flush();
    this.hubs?.publish(batch, update);
    const depthChannel = `depth:${symbol}`;
    if (update && this.subs.count(depthChannel)) {
      this.subs.broadcast(depthChannel, depthUpdateFrame(depthChannel, grid, update), now);
    }
    if (batch.trades.length === 0) return;
    const tradesChannel = `trades:${symbol}`;
    if (this.subs.count(tradesChannel)) {
      for (const t of batch.trades) {
        const frame = JSON.stringify({
          type: "trade",
          channel: tradesChannel,
          id: `${symbol}:${t.id}`,
          price: grid.price(t.price),
          quantity: grid.quantity(t.quantity),
          taker_side: t.takerSide,
          ts: t.ts,
        });
        this.subs.broadcast(tradesChannel, frame, now);
      }
    }
    const tickerChannel = `ticker:${symbol}`;
    if (this.subs.count(tickerChannel)) {
      this.subs.broadcast(
        tickerChannel,
        JSON.stringify({ type: "ticker", channel: tickerChannel, ...this.queries.ticker(now) }),
        now,
      );
    }
    for (const interval of INTERVAL_NAMES) {
      const channel = `candles:${interval}:${symbol}`;
      const c = m.candles.currentOf(interval);
      if (c && this.subs.count(channel)) {
        this.subs.broadcast(
          channel,
          JSON.stringify({ type: "candle", channel, ...candleView(grid, c) }),
          now,
        );
      }
    }
  }

  /** Each user's order events, to that user's sockets subscribed to `orders`. */
  private publishOrders(outbox: readonly OutboxEntry[], now: number): void {
    const ordersChannel = `orders:${this.market().symbol}`;
    const privateSubscribers = this.subs.subscribers(ordersChannel);
    if (!outbox.length || !privateSubscribers?.size) return;
    const byUser = new Map<string, OutboxEntry[]>();
    for (const e of outbox) {
      if (e.kind !== "order") continue;
      let list = byUser.get(e.userId);
      if (!list) byUser.set(e.userId, (list = []));
      list.push(e);
    }
    for (const ws of privateSubscribers) {
      const userId = this.subs.attachment(ws)?.userId;
      const events = userId ? byUser.get(userId) : undefined;
      if (events)
        for (const e of events)
          this.subs.send(ws, JSON.stringify({ type: "order", channel: ordersChannel, ...e }), now);
    }
  }

  /** The balances the locks left, sent to the users' `balances` sockets. */
  publishLocks(locked: readonly { funding: PlacementFunding; outcome: LockOutcome }[]): void {
    const rules = this.market().rules?.rules;
    if (!rules || !this.subs.count(`balances:${rules.symbol}`)) return;
    const updates: BalanceUpdate[] = [];
    for (const { funding, outcome } of locked) {
      if (outcome.outcome !== "locked") continue;
      const decimals = funding.lock.asset === rules.baseAsset ? rules.baseDecimals : rules.quoteDecimals;
      updates.push({
        userId: funding.lock.user_id,
        asset: funding.lock.asset,
        available: formatUnits(BigInt(outcome.available), decimals),
        locked: formatUnits(BigInt(outcome.locked), decimals),
        version: outcome.version,
      });
    }
    this.publishBalances(updates, Date.now());
  }

  /**
   * Balance changes committed in Postgres, to the users' sockets subscribed to `balances`; an
   * update older than one already sent is dropped. Returns the number of frames sent.
   */
  publishBalances(updates: readonly BalanceUpdate[], now: number): number {
    const rules = this.market().rules!.rules;
    const channel = `balances:${rules.symbol}`;
    const sockets = this.subs.subscribers(channel);
    if (!sockets?.size) return 0;
    const byUser = new Map<string, WebSocket[]>();
    for (const ws of sockets) {
      const userId = this.subs.attachment(ws)?.userId;
      if (!userId) continue;
      const list = byUser.get(userId);
      if (list) list.push(ws);
      else byUser.set(userId, [ws]);
    }
    this.balances.retain(new Set(byUser.keys()));
    let sent = 0;
    for (const u of updates) {
      if (!isBalanceUpdate(u) || (u.asset !== rules.baseAsset && u.asset !== rules.quoteAsset)) continue;
      const targets = byUser.get(u.userId);
      if (!targets || !this.balances.offer(u)) continue;
      const frame = JSON.stringify({ type: "balance", channel, ...view(u), ts: now });
      for (const ws of targets) if (this.subs.send(ws, frame, now)) sent++;
    }
    return sent;
  }
}
