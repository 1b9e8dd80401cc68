import { DurableObject } from "cloudflare:workers";
import { withDatabase } from "../src/db/client";
import { describeError, Logger, parseLogLevel } from "../src/lib/logger";
import { tradingRules } from "../src/services/trading/market-directory";
import { readBalanceUpdates } from "../src/services/trading/balance-updates";
import { LatestBalances, isBalanceUpdate, view, type BalanceUpdate } from "./market/balances";
import { Batch } from "./market/batch";
import type {
  CommandResult,
  LockOutcome,
  MarketCommand,
  OrderLookup,
  OutboxEntry,
  PlacementFunding,
} from "./market/commands";
import { FundsLocker } from "./market/funds-locker";
import { KeptDatabase } from "./market/kept-database";
import { Market } from "./market/market";
import { MarketMetrics } from "./market/metrics";
import type { MetricSnapshot } from "../src/lib/metrics/registry";
import { traceContextFrom } from "../src/lib/trace-context";
import { OrderIntake, type InFlight, type IntakeStep } from "./market/order-intake";
import { INTERVALS, isInterval, type Candle, type Interval } from "./market/market-data/candles";
import { rollingTicker } from "./market/market-data/ticker";
import {
  candleView,
  depthUpdateFrame,
  depthView,
  tickerView,
  type CandleView,
  type DepthView,
  type TickerView,
  type TradeView,
} from "./market/messages";
import { ackOutboxOf, outboxBacklog, outboxOrderIds, readOutbox } from "./market/outbox";
import { persistBatch } from "./market/persist";
import { ActiveRules, rulesProblem, type MarketRules } from "./market/rules";
import { formatUnits } from "../src/lib/money";
import { defaultOrderLimits } from "../src/domain/order-limits";
import { OrderRateLimiter } from "./market/order-rate-limiter";
import { createSchema, insertRows, readMeta, writeMeta } from "./market/schema";
import { ObjectSettler } from "./market/settler";
import type { OutboxRead } from "../src/services/trading/settle-market";
import { latestSnapshotSeq, oldestSnapshotSeq, writeSnapshot } from "./market/snapshots";
import { truncateJournal } from "./market/journal";
import {
  CloseCode,
  MAX_INBOUND_BYTES,
  MAX_TRADER_INBOUND_BYTES,
  NO_CLIENT,
  OWNER_HEADER,
  parseChannel,
  parseClientMessage,
  type ParsedChannel,
  type SocketOwner,
} from "./market/ws/protocol";
import { handleOrderMessage, type OrderEntryHost } from "./market/ws/order-entry";
import { SnapshotThrottle } from "./market/ws/snapshot-throttle";
import { SESSION_RECHECK_MS, SocketSessions, authenticateToken } from "./market/ws/socket-sessions";
import { Subscriptions } from "./market/ws/subscriptions";

/** Trace ids one funds lock names at most (its SQL comment stays short). */
const MAX_TRACE_IDS = 8;
/** Most commands one RPC call may carry. */
export const MAX_BATCH = 5_000;
export const MAX_DEPTH = 100;
/** Recent trades sent when a client subscribes to `trades` (newest first). */
export const TRADES_SNAPSHOT = 50;
/**
 * A snapshot is taken this long after the first unsnapshotted change: a busy market snapshots
 * about twice a minute, and a restart replays at most about that much journal.
 */
export const SNAPSHOT_DELAY_MS = 30_000;

export interface SequenceInfo {
  journalSeq: number;
  engineSeq: number;
  lastUpdateId: number;
  nextTradeId: number;
  outboxSeq: number;
  stateHash: string;
  orderCount: number;
}

/**
 * One object per market, addressed by the market symbol: the single writer of that market's
 * order book. It wraps the pure matching engine (./engine) with durability (journal,
 * snapshots, outbox in its SQLite, one transaction per call), market data and WebSocket
 * fan-out (hibernation API). See durable-objects/market/ for the parts.
 */
export class OrderBook extends DurableObject<Env> {
  private market!: Market;
  private readonly subs: Subscriptions;
  private readonly balances = new LatestBalances();
  private readonly settler: ObjectSettler;
  private readonly intake: OrderIntake;
  private readonly orderEntry: OrderEntryHost;
  private readonly locker: FundsLocker;
  /** The sockets' Postgres reads (auth, balance snapshots, session re-checks), over a kept connection. */
  private readonly reads: KeptDatabase;
  private readonly sessions: SocketSessions;
  private readonly balanceReads = new SnapshotThrottle();
  private readonly orderLimits: OrderRateLimiter;
  /** Operating numbers of this market, counted here (market/metrics.ts); read by `metrics()`. */
  private readonly counts = new MarketMetrics();
  private readonly log: Logger;
  /** Settles its own fills into Postgres (set by the Worker; off for a book without Postgres). */
  private selfSettling = false;
  /**
   * The market's money lives in Postgres (a market the Worker configured): every placement must
   * arrive with its funding, which the intake locks before the book sees the order.
   */
  private fundsRequired = false;
  /**
   * The object's one alarm serves two clocks: the snapshot SNAPSHOT_DELAY_MS after the first
   * unsnapshotted change, and the re-check of authenticated sockets every SESSION_RECHECK_MS.
   * 0: not due. `alarmAt` is what storage holds (0: none).
   */
  private snapshotDueAt = 0;
  private recheckDueAt = 0;
  private alarmAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.subs = new Subscriptions(ctx);
    this.log = new Logger(parseLogLevel(env.LOG_LEVEL), { component: "order-book" });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.settler = new ObjectSettler(
      env,
      {
        readOutbox: async (afterSeq, limit) => this.outboxRead(afterSeq, limit),
        ackOutbox: async (uptoSeq, epoch) => this.acknowledge(uptoSeq, epoch),
        publishBalances: (updates) => this.publishBalances(updates),
        backlog: () => outboxBacklog(ctx.storage.sql),
      },
      () => this.market.rules?.rules,
      () => this.selfSettling,
    );
    this.locker = new FundsLocker(env);
    this.reads = new KeptDatabase(env);
    const log = new Logger(parseLogLevel(env.LOG_LEVEL), { component: "order-book-sockets" });
    this.sessions = new SocketSessions(this.subs, this.reads, (err) =>
      log.warn(
        "socket sessions not re-checked; only expiry enforced until the next check",
        describeError(err),
      ),
    );
    this.orderLimits = new OrderRateLimiter(defaultOrderLimits(env));
    this.intake = new OrderIntake({
      admit: (command) => this.market.admit(command),
      // An unconfigured book refuses the placement (the Worker configures it and retries): not counted.
      limit: (placement) =>
        this.market.rules ? this.orderLimits.take(placement.userId, placement.limits, Date.now()) : null,
      fundsRequired: () => this.fundsRequired,
      markInFlight: (placements) => this.markInFlight(placements),
      lockFunds: (funding) => this.counts.timeLock(this.locker.lock(funding, this.traceIds.splice(0))),
      run: (steps) => this.run(steps),
      abandon: (placements) => this.abandon(placements),
      publishLocks: (locked) => this.publishLocks(locked),
      observe: (commands, results) => this.counts.observe(commands, results),
    });
    this.orderEntry = {
      env,
      symbol: () => this.market.symbol,
      rules: () => (this.market.rules ? tradingRulesOf(this.market.rules) : null),
      submit: (commands) => this.intake.submit(commands),
      lookup: (query) => this.market.lookup(query),
      withDatabase: (fn) => withDatabase(env, fn),
    };
    void ctx.blockConcurrencyWhile(async () => {
      createSchema(ctx.storage.sql);
      this.market = new Market(ctx.storage.sql);
      this.selfSettling = readMeta<boolean>(ctx.storage.sql, "self_settling") ?? false;
      this.fundsRequired = readMeta<boolean>(ctx.storage.sql, "funds_required") ?? false;
      // Placements an earlier incarnation locked in Postgres but never journaled.
      const inFlight = ctx.storage.sql
        .exec<{ order_id: string; user_id: string }>("SELECT order_id, user_id FROM in_flight")
        .toArray();
      if (inFlight.length) this.abandon(inFlight.map((r) => ({ orderId: r.order_id, userId: r.user_id })));
      this.alarmAt = (await ctx.storage.getAlarm()) ?? 0;
      // Woken with authenticated sockets (hibernation, eviction): their owners are checked again.
      if (this.subs.authenticatedSockets().length) this.scheduleRecheck();
      // Fills an earlier incarnation of this object left unsettled.
      if (outboxBacklog(ctx.storage.sql) > 0) this.settler.kick();
    });
  }

  /** Liveness probe used by readiness checks and tests. */
  async ping(): Promise<string> {
    return "pong";
  }

  // ---- rules ------------------------------------------------------------------------------

  /**
   * Installs or replaces the market's rules (admin). Returns the problem when they are unusable.
   * `selfSettle`: the Worker, whose markets live in Postgres, has the object settle its fills.
   */
  async configure(
    rules: MarketRules,
    options: { selfSettle?: boolean } = {},
  ): Promise<{ ok: true; rules: MarketRules } | { ok: false; message: string }> {
    const problem = rulesProblem(rules);
    if (problem) return { ok: false, message: problem };
    const current = this.market.rules?.rules;
    if (current && current.symbol !== rules.symbol) return { ok: false, message: "symbol cannot change" };
    if (
      current &&
      (current.tickSize !== rules.tickSize || current.lotSize !== rules.lotSize) &&
      (this.market.engine.orderCount > 0 || outboxBacklog(this.ctx.storage.sql) > 0)
    ) {
      // Unsettled fills too: entries written before minor units were carried settle on the grid.
      return {
        ok: false,
        message: "tick and lot sizes can change only while the book is empty and its fills are settled",
      };
    }
    writeMeta(this.ctx.storage.sql, "rules", rules);
    this.market.rules = new ActiveRules(rules);
    // Only a book's first configuration decides; a later one keeps what an operator set.
    if (options.selfSettle !== undefined) {
      const sql = this.ctx.storage.sql;
      // A market settling into Postgres keeps its money there: placements must come funded.
      if (readMeta(sql, "funds_required") === null) {
        writeMeta(sql, "funds_required", options.selfSettle);
        this.fundsRequired = options.selfSettle;
      }
      if (readMeta(sql, "self_settling") === null) await this.setSelfSettling(options.selfSettle);
    }
    return { ok: true, rules };
  }

  async getRules(): Promise<MarketRules | null> {
    return this.market.rules?.rules ?? null;
  }

  // ---- commands ---------------------------------------------------------------------------

  // Every command goes through the intake (order-intake.ts): funds are locked for a group of
  // placements in one Postgres round trip, then the group executes in arrival order.

  async place(command: Omit<Extract<MarketCommand, { kind: "place" }>, "kind">): Promise<CommandResult> {
    return (await this.intake.submit([{ ...command, kind: "place" }]))[0]!;
  }

  /** An OCO pair (both legs' ids are the caller's); journaled as one engine `place_oco` command. */
  async placeOco(
    command: Omit<Extract<MarketCommand, { kind: "place_oco" }>, "kind">,
  ): Promise<CommandResult> {
    return (await this.intake.submit([{ ...command, kind: "place_oco" }]))[0]!;
  }

  async cancel(orderId: string, userId?: string): Promise<CommandResult> {
    return (await this.intake.submit([{ kind: "cancel", orderId, userId }]))[0]!;
  }

  async amend(
    orderId: string,
    change: { price?: string; quantity?: string; userId?: string; amendId?: string; expiresAt?: number },
  ): Promise<CommandResult> {
    return (await this.intake.submit([{ kind: "amend", orderId, ...change }]))[0]!;
  }

  async cancelAll(userId: string): Promise<CommandResult> {
    return (await this.intake.submit([{ kind: "cancel_all", userId }]))[0]!;
  }

  /**
   * Many commands in one call: one funds lock, one storage transaction (a few statements
   * whatever the size), one broadcast. This is how one market goes past the platform's ~1,000
   * requests/s per object. Each command stands alone: one refusal never fails the others.
   */
  async placeBatch(commands: MarketCommand[], traceparent?: string): Promise<CommandResult[]> {
    if (!Array.isArray(commands) || commands.length > MAX_BATCH) {
      return [{ ok: false, code: "BAD_REQUEST", message: `A batch holds 1 to ${MAX_BATCH} commands` }];
    }
    if (typeof traceparent !== "string") return this.intake.submit(commands);
    // The caller's trace goes on: into this log line and the funds lock's SQL (funds-locker.ts).
    const trace = traceContextFrom(traceparent);
    if (this.traceIds.push(trace.traceId) > MAX_TRACE_IDS) this.traceIds.shift();
    const results = await this.intake.submit(commands);
    this.log.info("order batch", {
      trace_id: trace.traceId,
      span_id: trace.spanId,
      parent_span_id: trace.parentSpanId,
      market: this.market.symbol,
      commands: commands.length,
      refused: results.filter((r) => !r.ok).length,
    });
    return results;
  }

  /** Trace ids of the calls queued since the last funds lock, named in its SQL (at most a few). */
  private readonly traceIds: string[] = [];

  private run(steps: readonly IntakeStep[]): CommandResult[] {
    const batch = new Batch(Date.now());
    const results: CommandResult[] = [];
    const sql = this.ctx.storage.sql;
    try {
      this.ctx.storage.transactionSync(() => {
        for (const { command, funding } of steps) results.push(this.market.execute(command, batch, funding));
        this.market.counters.lastUpdateId = this.market.depth.lastUpdateId;
        persistBatch(sql, batch, this.market.candles.takeDirty(), this.market.counters);
        sql.exec("DELETE FROM in_flight");
      });
    } catch (err) {
      // Memory may now be ahead of storage: start over from storage rather than serve a lie.
      this.ctx.abort("order book state diverged from storage");
      throw err;
    }
    this.counts.fills += batch.trades.length;
    this.counts.report(this.env.METRICS, this.market.symbol, batch.ts);
    if (batch.journal.length) {
      this.scheduleSnapshot();
      this.broadcast(batch);
    }
    if (batch.outbox.length) this.settler.kick();
    return results;
  }

  /** Notes placements whose funds are about to be locked, durably, before Postgres is asked. */
  private markInFlight(placements: readonly InFlight[]): void {
    insertRows(
      this.ctx.storage.sql,
      "in_flight",
      ["order_id", "user_id"],
      placements.map((p) => [p.orderId, p.userId]),
      "ON CONFLICT DO NOTHING",
    );
  }

  /**
   * Placements whose lock may or may not have committed in Postgres (it did not answer, or the
   * object restarted before journaling them) and that the book never took: a `rejected` entry
   * each, so settlement releases whatever was locked (an order Postgres never recorded is
   * skipped there). The caller was told the placement failed, or never got an answer.
   */
  private abandon(placements: readonly InFlight[]): void {
    const batch = new Batch(Date.now());
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const p of placements) {
        if (!this.market.hasOrder(p.orderId))
          this.market.pushRejected(p.orderId, p.userId, "NOT_BOOKED", batch);
      }
      persistBatch(sql, batch, [], this.market.counters);
      sql.exec("DELETE FROM in_flight");
    });
    if (batch.outbox.length) this.settler.kick();
  }

  /** The balances the locks left, sent to the users' `balances` sockets. */
  private publishLocks(locked: readonly { funding: PlacementFunding; outcome: LockOutcome }[]): void {
    const rules = this.market.rules?.rules;
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
    this.sendBalances(updates, Date.now());
  }

  // ---- balances ---------------------------------------------------------------------------

  /**
   * Balance changes the Worker committed in Postgres (settlement, releases), forwarded to the
   * users' sockets subscribed to `balances`; an update older than one already seen is dropped.
   * Returns the number of frames sent.
   */
  async publishBalances(updates: BalanceUpdate[]): Promise<{ sent: number }> {
    if (!Array.isArray(updates) || !this.market.rules) return { sent: 0 };
    return { sent: this.sendBalances(updates, Date.now()) };
  }

  private sendBalances(updates: readonly BalanceUpdate[], now: number): number {
    const rules = this.market.rules!.rules;
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

  /**
   * The user's balances in the market's two assets, read from Postgres on subscribe over the
   * object's kept connection (throttled per socket: see SnapshotThrottle) and merged with what it
   * has seen, so the snapshot is never older than an update already sent to the socket.
   */
  private async sendBalanceSnapshot(
    ws: WebSocket,
    channel: string,
    userId: string,
    id: unknown,
  ): Promise<void> {
    const rules = this.market.rules!.rules;
    const assets = [rules.baseAsset, rules.quoteAsset];
    let failed = false;
    try {
      await this.balanceReads.run(ws, async () => {
        const read = await this.reads.use((db) => readBalanceUpdates(db, userId, assets));
        for (const u of read) this.balances.offer(u);
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
      JSON.stringify({ type: "snapshot", channel, balances: this.balances.of(userId, assets) }),
      now,
    );
  }

  // ---- settlement and reconciliation ------------------------------------------------------

  async getOrder(query: { orderId?: string; clientOrderId?: string; userId?: string }): Promise<OrderLookup> {
    return this.market.lookup(query);
  }

  /** Unsettled entries after `afterSeq`, with the storage's epoch and last issued sequence. */
  async readOutbox(afterSeq = 0, limit = 500): Promise<OutboxRead & { backlog: number }> {
    const n = Math.max(1, Math.min(5_000, Math.floor(limit) || 500));
    return { ...this.outboxRead(afterSeq, n), backlog: outboxBacklog(this.ctx.storage.sql) };
  }

  /** Deletes entries up to `uptoSeq`; an `epoch` not this storage's deletes nothing. */
  async ackOutbox(uptoSeq: number, epoch?: string): Promise<{ acknowledged: number }> {
    return { acknowledged: this.acknowledge(uptoSeq, epoch) };
  }

  /** What reconciliation compares with Postgres: the live orders and those settlement still owes. */
  async bookReport(): Promise<{ liveOrderIds: string[]; unsettledOrderIds: string[] }> {
    return {
      liveOrderIds: this.market.liveOrderIds(),
      unsettledOrderIds: outboxOrderIds(this.ctx.storage.sql),
    };
  }

  private outboxRead(afterSeq: number, limit: number): OutboxRead {
    const { epoch, outboxSeq } = this.market.counters;
    const entries = readOutbox(this.ctx.storage.sql, afterSeq, limit);
    this.counts.handedOut(entries);
    return { entries, epoch, lastSeq: outboxSeq };
  }

  private acknowledge(uptoSeq: number, epoch: string | undefined): number {
    const own = this.market.counters.epoch!;
    if (epoch === undefined || epoch === own) this.counts.acknowledged(uptoSeq, Date.now());
    return ackOutboxOf(this.ctx.storage.sql, uptoSeq, epoch, own);
  }

  /** This market's metrics for the scrape (GET /api/v1/admin/metrics); none before it has rules. */
  async metrics(): Promise<MetricSnapshot[]> {
    const m = this.market;
    if (!m.rules) return [];
    return this.counts.snapshot(m.symbol, {
      backlog: outboxBacklog(this.ctx.storage.sql),
      sockets: this.ctx.getWebSockets().length,
      framesSent: this.subs.framesSent,
      framesReceived: this.subs.framesReceived,
      openOrders: m.engine.orderCount,
      status: m.rules.rules.status,
    });
  }

  /**
   * Starts or stops this object's own settlement (an operator may stop it while investigating a
   * market; the cron and cancels still settle). Tests stop it to hold fills unsettled.
   */
  async setSelfSettling(on: boolean): Promise<{ selfSettling: boolean; was: boolean }> {
    const was = this.selfSettling;
    writeMeta(this.ctx.storage.sql, "self_settling", on);
    this.selfSettling = on;
    if (on) this.settler.kick();
    return { selfSettling: on, was };
  }

  async sequence(): Promise<SequenceInfo> {
    const m = this.market;
    return {
      journalSeq: m.counters.journalSeq,
      engineSeq: m.engine.events.nextSeq,
      lastUpdateId: m.depth.lastUpdateId,
      nextTradeId: m.counters.nextTradeId,
      outboxSeq: m.counters.outboxSeq,
      stateHash: m.engine.stateHash(),
      orderCount: m.engine.orderCount,
    };
  }

  // ---- market data ------------------------------------------------------------------------

  async depth(limit = MAX_DEPTH): Promise<DepthView | null> {
    const m = this.market;
    if (!m.rules) return null;
    const n = Math.max(1, Math.min(MAX_DEPTH, Math.floor(limit) || MAX_DEPTH));
    return depthView(m.symbol, m.rules.grid, m.depth.lastUpdateId, m.engine.depth(n));
  }

  /** The whole book (tests and audits; not limited to 100 levels). */
  async fullDepth(): Promise<DepthView | null> {
    const m = this.market;
    if (!m.rules) return null;
    return depthView(m.symbol, m.rules.grid, m.depth.lastUpdateId, m.engine.depth(Number.MAX_SAFE_INTEGER));
  }

  async trades(limit = 100): Promise<TradeView[]> {
    return this.recentTrades(limit);
  }

  private recentTrades(limit: number): TradeView[] {
    const m = this.market;
    if (!m.rules) return [];
    const n = Math.max(1, Math.min(1000, Math.floor(limit) || 100));
    const grid = m.rules.grid;
    const symbol = m.symbol;
    return this.ctx.storage.sql
      .exec<{ id: number; ts: number; price: number; quantity: number; taker_side: "buy" | "sell" }>(
        "SELECT id, ts, price, quantity, taker_side FROM trades ORDER BY id DESC LIMIT ?",
        n,
      )
      .toArray()
      .map((t) => ({
        id: `${symbol}:${t.id}`,
        price: grid.price(t.price),
        quantity: grid.quantity(t.quantity),
        taker_side: t.taker_side,
        ts: t.ts,
      }));
  }

  async candles(query: {
    interval: Interval;
    start?: number;
    end?: number;
    limit?: number;
  }): Promise<CandleView[]> {
    const m = this.market;
    if (!m.rules || !isInterval(query.interval)) return [];
    const n = Math.max(1, Math.min(1000, Math.floor(query.limit ?? 500) || 500));
    const rows = this.ctx.storage.sql
      .exec(
        `SELECT * FROM candles WHERE interval = ? AND start >= ? AND start <= ? ORDER BY start DESC LIMIT ?`,
        query.interval,
        query.start ?? 0,
        query.end ?? Number.MAX_SAFE_INTEGER,
        n,
      )
      .toArray()
      .reverse() as unknown as Candle[];
    return rows.map((c) => candleView(m.rules!.grid, c));
  }

  async ticker(): Promise<TickerView | null> {
    return this.tickerNow(Date.now());
  }

  private tickerNow(now: number): TickerView | null {
    const m = this.market;
    if (!m.rules) return null;
    const stats = rollingTicker(m.candles.minutes, now, m.engine.lastTradePrice() ?? 0);
    return tickerView(m.symbol, m.rules.grid, stats, m.engine.bestBid(), m.engine.bestAsk(), now);
  }

  // ---- snapshots --------------------------------------------------------------------------

  private scheduleSnapshot(): void {
    if (this.snapshotDueAt) return;
    this.snapshotDueAt = Date.now() + SNAPSHOT_DELAY_MS;
    this.armAlarm();
  }

  private scheduleRecheck(): void {
    if (this.recheckDueAt) return;
    this.recheckDueAt = Date.now() + SESSION_RECHECK_MS;
    this.armAlarm();
  }

  /** Sets the alarm to the earlier clock, unless an alarm no later than that is already set. */
  private armAlarm(): void {
    const due = Math.min(this.snapshotDueAt || Infinity, this.recheckDueAt || Infinity);
    if (due === Infinity || (this.alarmAt && this.alarmAt <= due)) return;
    this.alarmAt = due;
    void this.ctx.storage.setAlarm(due);
  }

  /** Writes a snapshot of the engine and drops the journal the older kept snapshot covers. */
  async snapshotNow(): Promise<{ journalSeq: number }> {
    const m = this.market;
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      writeSnapshot(sql, Date.now(), {
        journalSeq: m.counters.journalSeq,
        engine: m.engine.snapshot(),
        counters: { ...m.counters },
      });
      truncateJournal(sql, oldestSnapshotSeq(sql));
    });
    return { journalSeq: m.counters.journalSeq };
  }

  override async alarm(): Promise<void> {
    this.alarmAt = 0;
    const now = Date.now();
    if (outboxBacklog(this.ctx.storage.sql) > 0) this.settler.kick();
    // A clock at 0 after a restart is unknown: run its work (each is cheap when nothing is due).
    if (this.recheckDueAt <= now) {
      this.recheckDueAt = 0;
      if (await this.sessions.recheck(now)) this.scheduleRecheck();
    }
    if (this.snapshotDueAt <= now) {
      this.snapshotDueAt = 0;
      // Nothing new since the last snapshot: writing the same state again would only cost.
      if (latestSnapshotSeq(this.ctx.storage.sql) !== this.market.counters.journalSeq)
        await this.snapshotNow();
    }
    this.armAlarm();
  }

  // ---- WebSockets -------------------------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    if (!this.market.rules) return new Response("Unknown market", { status: 404 });
    const pair = new WebSocketPair();
    const owner = socketOwner(request.headers.get(OWNER_HEADER));
    this.subs.accept(pair[1], this.market.symbol, owner);
    if (owner.principal) this.scheduleRecheck();
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const now = Date.now();
    if (!this.subs.inbound(ws, now)) {
      this.subs.send(ws, errorFrame(undefined, "RATE_LIMITED", "Too many messages"), now);
      this.subs.close(ws, CloseCode.POLICY_VIOLATION, "Too many messages");
      return;
    }
    try {
      await this.handle(ws, data, now);
    } catch {
      this.subs.send(ws, errorFrame(undefined, "INTERNAL_ERROR", "The message could not be handled"), now);
    }
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.subs.drop(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.subs.drop(ws);
  }

  private async handle(ws: WebSocket, data: string | ArrayBuffer, now: number): Promise<void> {
    const owner = this.subs.ownerOf(ws, now);
    const parsed = parseClientMessage(data, owner.trader ? MAX_TRADER_INBOUND_BYTES : MAX_INBOUND_BYTES);
    if (!parsed.ok) {
      this.subs.send(ws, errorFrame(parsed.id, parsed.code, parsed.message), now);
      return;
    }
    const msg = parsed.message;
    if (msg.op === "ping") {
      this.subs.send(ws, JSON.stringify({ type: "pong", id: msg.id, ts: now }), now);
      return;
    }
    if (msg.op === "auth") {
      // As the HTTP API checks a token (a logged-out, password-changed or banned owner opens
      // nothing); afterwards the re-check ends private access when the session does.
      const outcome = await this.reads.use((db) => authenticateToken(db, this.env, msg.token));
      if ("code" in outcome || !this.subs.authenticate(ws, outcome.principal)) {
        const refusal =
          "code" in outcome
            ? outcome
            : { code: "UNAUTHORIZED", message: "This socket belongs to another user" };
        this.subs.send(ws, errorFrame(msg.id, refusal.code, refusal.message), Date.now());
        return;
      }
      this.scheduleRecheck();
      this.subs.send(
        ws,
        JSON.stringify({ type: "authenticated", id: msg.id, user_id: outcome.principal.userId }),
        Date.now(),
      );
      return;
    }
    if (
      msg.op === "order.place" ||
      msg.op === "order.batch" ||
      msg.op === "order.cancel" ||
      msg.op === "order.amend"
    ) {
      const reply = await handleOrderMessage(this.orderEntry, owner.principal, owner.client, msg);
      this.subs.send(
        ws,
        JSON.stringify({ type: "result" in reply ? "result" : "error", id: msg.id, ...reply }),
        Date.now(),
      );
      return;
    }
    const attachment = this.subs.attachment(ws);
    const market = attachment?.market ?? this.market.symbol;
    const channels: ParsedChannel[] = [];
    const unknown: string[] = [];
    for (const raw of msg.channels) {
      const channel = parseChannel(raw, market);
      // `balances` and `balances:SYM` name one channel: each is subscribed (and snapshotted) once.
      if (channel) {
        if (!channels.some((c) => c.name === channel.name)) channels.push(channel);
      } else unknown.push(raw);
    }
    if (unknown.length) {
      this.subs.send(
        ws,
        errorFrame(
          msg.id,
          "UNKNOWN_CHANNEL",
          `Unknown channel(s) for this ${market} socket: ${unknown.join(", ")}`,
        ),
        now,
      );
      return;
    }
    if (msg.op === "unsubscribe") {
      this.subs.remove(
        ws,
        channels.map((c) => c.name),
      );
      this.subs.send(
        ws,
        JSON.stringify({ type: "unsubscribed", id: msg.id, channels: channels.map((c) => c.name) }),
        now,
      );
      return;
    }
    const privateChannel = channels.find((c) => c.kind === "orders" || c.kind === "balances");
    if (privateChannel && !attachment?.userId) {
      this.subs.send(
        ws,
        errorFrame(
          msg.id,
          "UNAUTHORIZED",
          `The ${privateChannel.kind} channel needs an authenticated socket`,
        ),
        now,
      );
      return;
    }
    const added = new Set(
      this.subs.add(
        ws,
        channels.map((c) => c.name),
      ),
    );
    this.subs.send(
      ws,
      JSON.stringify({ type: "subscribed", id: msg.id, channels: channels.map((c) => c.name) }),
      now,
    );
    for (const channel of channels) {
      if (!added.has(channel.name)) continue;
      if (channel.kind === "balances")
        await this.sendBalanceSnapshot(ws, channel.name, attachment!.userId!, msg.id);
      else this.sendSnapshot(ws, channel, attachment?.userId ?? null, now);
    }
  }

  /** The current state of a channel, sent right after subscribing; diffs follow. */
  private sendSnapshot(ws: WebSocket, channel: ParsedChannel, userId: string | null, now: number): void {
    const m = this.market;
    const grid = m.rules!.grid;
    let frame: unknown;
    switch (channel.kind) {
      case "depth": {
        const view = depthView(m.symbol, grid, m.depth.lastUpdateId, m.engine.depth(MAX_DEPTH));
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
        frame = { type: "snapshot", channel: channel.name, trades: this.recentTrades(TRADES_SNAPSHOT) };
        break;
      case "ticker":
        frame = { type: "ticker", channel: channel.name, ...this.tickerNow(now) };
        break;
      case "candles": {
        const c = m.candles.currentOf(channel.interval!);
        frame = { type: "snapshot", channel: channel.name, candle: c ? candleView(grid, c) : null };
        break;
      }
      case "orders":
        frame = { type: "snapshot", channel: channel.name, orders: userId ? m.openOrders(userId) : [] };
        break;
      case "balances":
        return; // sendBalanceSnapshot
    }
    this.subs.send(ws, JSON.stringify(frame), now);
  }

  private broadcast(batch: Batch): void {
    const m = this.market;
    const grid = m.rules!.grid;
    const symbol = m.symbol;
    const now = batch.ts;
    const update = m.depth.flush();
    const depthChannel = `depth:${symbol}`;
    if (update && this.subs.count(depthChannel)) {
      this.subs.broadcast(depthChannel, depthUpdateFrame(depthChannel, grid, update), now);
    }
    if (batch.trades.length === 0 && batch.outbox.length === 0) return;
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
    if (batch.trades.length) {
      const tickerChannel = `ticker:${symbol}`;
      if (this.subs.count(tickerChannel)) {
        this.subs.broadcast(
          tickerChannel,
          JSON.stringify({ type: "ticker", channel: tickerChannel, ...this.tickerNow(now) }),
          now,
        );
      }
      for (const interval of Object.keys(INTERVALS) as Interval[]) {
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
    const ordersChannel = `orders:${symbol}`;
    const privateSubscribers = this.subs.subscribers(ordersChannel);
    if (privateSubscribers?.size) {
      const byUser = new Map<string, OutboxEntry[]>();
      for (const e of batch.outbox) {
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
  }
}

function errorFrame(id: unknown, code: string, message: string): string {
  return JSON.stringify({
    type: "error",
    ...(typeof id === "number" || typeof id === "string" ? { id } : {}),
    code,
    message,
  });
}

/** The owner the Worker put on an upgrade (absent or unreadable: an anonymous socket). */
function socketOwner(header: string | null): SocketOwner {
  try {
    const owner = header ? (JSON.parse(header) as SocketOwner) : null;
    if (owner && typeof owner === "object")
      return { principal: owner.principal ?? null, client: owner.client ?? NO_CLIENT };
  } catch {}
  return { principal: null, client: NO_CLIENT };
}

/** The active rules as the trading services take them, converted once per configuration, not per order. */
const converted = new WeakMap<ActiveRules, ReturnType<typeof tradingRules>>();
function tradingRulesOf(active: ActiveRules): ReturnType<typeof tradingRules> {
  let rules = converted.get(active);
  if (!rules) converted.set(active, (rules = tradingRules(active.rules)));
  return rules;
}
