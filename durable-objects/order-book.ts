import { DurableObject } from "cloudflare:workers";
import { withDatabase } from "../src/db/client";
import type { BalanceUpdate } from "../src/domain/ledger/balance-updates";
import type { BookAmendment } from "../src/domain/market/amend-order";
import { defaultOrderLimits } from "../src/domain/market/order-limits";
import type { OutboxRead, OutboxSource } from "../src/domain/settlement/settle-market";
import { describeError, Logger, parseLogLevel } from "../src/lib/logger";
import type { MetricSnapshot } from "../src/lib/metrics/registry";
import { traceContextFrom } from "../src/lib/trace-context";
import { AlarmClock } from "./market/alarm-clock";
import { LatestBalances } from "./market/balances";
import type { Batch } from "./market/batch";
import { CommandRunner } from "./market/command-runner";
import type { CommandResult, MarketCommand, OrderLookup } from "../src/domain/market/commands";
import { FanOut } from "./market/fan-out";
import { FundsLocker } from "./market/funds-locker";
import { KeptDatabase } from "./market/kept-database";
import { LockFence } from "./market/lock-fence";
import { Market } from "./market/market";
import { otherMarket } from "./market/market-for-amend";
import { installRules } from "./market/market-config";
import type { Interval } from "./market/market-data/candles";
import { MAX_DEPTH, MarketDataQueries } from "./market/market-data/queries";
import type { CandleView, DepthView, TickerView, TradeView } from "./market/messages";
import { MarketMetrics } from "./market/metrics";
import { OrderIntake } from "./market/order-intake";
import { HeldOutbox } from "./market/held-outbox";
import { OutboxAcks } from "./market/outbox-acks";
import { OrderRateLimiter } from "./market/order-rate-limiter";
import { ackOutboxOf, outboxOrderIds, outboxWaiting, readOutbox, readOutboxPages } from "./market/outbox";
import type { BookRules } from "../src/domain/market/market-rules";
import { createSchema, readMeta, writeMeta } from "./market/schema";
import { ObjectSettler } from "./market/settler";
import { latestSnapshotSeq, snapshotMarket } from "./market/snapshots";
import { ChannelSnapshots } from "./market/ws/channel-snapshots";
import type { OrderEntryHost } from "./market/ws/order-entry";
import { SESSION_RECHECK_MS, SocketSessions } from "./market/ws/socket-sessions";
import { SocketServer } from "./market/ws/socket-server";
import { Subscriptions } from "./market/ws/subscriptions";
import type { MarketStreamState } from "./stream-hub/market-event";
import { MarketPublisher } from "./stream-hub/market-publisher";

export { MAX_DEPTH };
/** Trace ids one funds lock names at most (its SQL comment stays short). */
const MAX_TRACE_IDS = 8;
/** Most commands one RPC call may carry. */
export const MAX_BATCH = 5_000;
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
 * order book. This file is its RPC facade: each method hands the call to the part that does the
 * job (durable-objects/market/): the intake and command runner (group commit, one storage
 * transaction per flush), the fan-out to sockets, the socket server, market-data queries, the
 * settler and the alarm's clocks. The pure matching engine is ./engine.
 */
export class OrderBook extends DurableObject<Env> {
  private market!: Market;
  private readonly subs: Subscriptions;
  private readonly settler: ObjectSettler;
  private readonly intake: OrderIntake;
  private readonly runner: CommandRunner;
  private readonly fanOut: FanOut;
  private readonly queries: MarketDataQueries;
  private readonly streams: MarketPublisher;
  private readonly sockets: SocketServer;
  private readonly sessions: SocketSessions;
  private readonly clock: AlarmClock;
  /** The settler's acknowledgements, deleted with the next group's writes. */
  private readonly acks: OutboxAcks;
  /** The outbox pages this object committed, held for its settler (market/held-outbox.ts). */
  private readonly held = new HeldOutbox();
  /** Operating numbers of this market, counted here (market/metrics.ts); read by `metrics()`. */
  private readonly counts = new MarketMetrics();
  /** The snapshot being written, if one is (`snapshotNow`). */
  private snapshotting: Promise<void> | null = null;
  private readonly log: Logger;
  /** Settles its own fills into Postgres (set by the Worker; off for a book without Postgres). */
  private selfSettling = false;
  /**
   * The market's money lives in Postgres (a market the Worker configured): every placement must
   * arrive with its funding, which the intake locks before the book sees the order.
   */
  private fundsRequired = false;
  /** Trace ids of the calls queued since the last funds lock, named in its SQL (at most a few). */
  private readonly traceIds: string[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const market = () => this.market;
    this.subs = new Subscriptions(ctx);
    this.log = new Logger(parseLogLevel(env.LOG_LEVEL), { component: "order-book" });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    this.clock = new AlarmClock(ctx.storage, SNAPSHOT_DELAY_MS, SESSION_RECHECK_MS);
    this.acks = new OutboxAcks(ctx.storage);
    // The market's outbox as settlement reads it: the object's own settler, and an amendment
    // made over this market's socket, which settles in place.
    const outbox: OutboxSource = {
      readOutbox: async (afterSeq, limit) => this.outboxRead(afterSeq, limit),
      ackOutbox: async (uptoSeq, epoch) => this.noteAck(uptoSeq, epoch),
      publishBalances: (updates) => this.publishBalances(updates),
    };
    this.settler = new ObjectSettler(
      env,
      {
        ...outbox,
        backlog: () => this.acks.backlog(),
        // Settlement takes the pages as held in memory, else as stored (market/outbox.ts).
        readPages: async (afterSeq, maxEntries) => {
          const pages = readOutboxPages(ctx.storage.sql, afterSeq, maxEntries, this.held);
          if (pages) this.counts.handedOut(pages.marks);
          return pages && { ...pages, lastSeq: this.market.counters.outboxSeq };
        },
      },
      () => this.market.rules?.rules,
      () => this.selfSettling,
    );
    this.queries = new MarketDataQueries(ctx.storage.sql, market);
    // The stream hubs fed by this market (Binance market streams, durable-objects/stream-hub/).
    this.streams = new MarketPublisher(ctx.storage.sql, env.STREAM_HUB, market, this.queries, (err) =>
      this.log.warn("stream hub not reached", describeError(err)),
    );
    this.fanOut = new FanOut(this.subs, market, this.queries, new LatestBalances(), this.streams);
    this.runner = new CommandRunner(
      ctx,
      env,
      market,
      this.counts,
      { committed: (batch) => this.committed(batch) },
      this.acks,
    );
    const locker = new FundsLocker(env);
    const fence = new LockFence(env);
    const orderLimits = new OrderRateLimiter(defaultOrderLimits(env));
    this.intake = new OrderIntake({
      admit: (command) => this.market.admit(command),
      // An unconfigured book refuses the placement (the Worker configures it and retries): not counted.
      limit: (placement, now) =>
        this.market.rules ? orderLimits.take(placement.userId, placement.limits, now) : null,
      fundsRequired: () => this.fundsRequired,
      fence: () => fence.pass(this.market.symbol),
      raiseFence: async () => {
        const after = this.market.counters.lockMark ?? null;
        await fence.raise(this.market.symbol, after, (r) => this.runner.abandon(r.orphans, r.mark));
      },
      lowerFence: () => fence.lower(),
      lockFunds: (funding, pass) => this.counts.timeLock(locker.lock(funding, this.traceIds.splice(0), pass)),
      sent: () => locker.sent(),
      run: (steps, mark) => this.runner.run(steps, mark),
      publishLocks: (locked) => this.fanOut.publishLocks(locked),
      observe: (commands, results) => this.counts.observe(commands, results),
      durable: () => ctx.storage.sync(),
      stage: (stage, ms) => this.counts.stage(stage, ms),
    });
    // The sockets' Postgres reads (auth, balance snapshots, session re-checks), over a kept connection.
    const reads = new KeptDatabase(env);
    const socketLog = new Logger(parseLogLevel(env.LOG_LEVEL), { component: "order-book-sockets" });
    this.sessions = new SocketSessions(this.subs, reads, (err) =>
      socketLog.warn(
        "socket sessions not re-checked; only expiry enforced until the next check",
        describeError(err),
      ),
    );
    const orderEntry: OrderEntryHost = {
      symbol: () => this.market.symbol,
      rules: () => this.market.rules?.rules ?? null,
      submit: (commands) => this.intake.submit(commands),
      lookup: (query) => this.market.lookup(query),
      withDatabase: (fn) => withDatabase(env, fn),
      marketOf: async (symbol) => {
        const rules = this.market.rules;
        if (symbol !== this.market.symbol || !rules) return otherMarket(env, symbol);
        const amend = async (orderId: string, change: BookAmendment) =>
          (await this.intake.submit([{ kind: "amend", orderId, ...change }]))[0]!;
        return { rules: rules.rules, outbox, amend };
      },
    };
    const snapshots = new ChannelSnapshots(this.subs, market, this.queries, this.fanOut, reads);
    this.sockets = new SocketServer(env, this.subs, market, reads, orderEntry, snapshots, () =>
      this.clock.scheduleRecheck(),
    );
    void ctx.blockConcurrencyWhile(async () => {
      createSchema(ctx.storage.sql);
      this.market = new Market(ctx.storage.sql);
      this.selfSettling = readMeta<boolean>(ctx.storage.sql, "self_settling") ?? false;
      this.fundsRequired = readMeta<boolean>(ctx.storage.sql, "funds_required") ?? false;
      // Placements an earlier release noted before their locks; then what earlier incarnations
      // locked in Postgres but never journaled, found through the lock fence (its first raise).
      this.runner.recover();
      if (this.fundsRequired) void this.intake.submit([]).catch(() => {});
      await this.clock.load();
      // Woken with authenticated sockets (hibernation, eviction): their owners are checked again.
      if (this.subs.authenticatedSockets().length) this.clock.scheduleRecheck();
      // Fills an earlier incarnation of this object left unsettled.
      if (outboxWaiting(ctx.storage.sql)) this.settler.kick();
    });
  }

  /** A batch is committed: its events go out, the snapshot clock starts, the settler wakes. */
  private committed(batch: Batch): void {
    // Held only for the object's own settler: stopped, nothing would read or let go of them.
    if (this.selfSettling) this.held.committed(batch.outbox, this.market.counters.epoch);
    if (batch.journal.length) {
      this.clock.scheduleSnapshot();
      this.fanOut.publish(batch);
    }
    if (batch.outbox.length) this.settler.kick();
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
    rules: BookRules,
    options: { selfSettle?: boolean } = {},
  ): Promise<{ ok: true; rules: BookRules } | { ok: false; message: string }> {
    const sql = this.ctx.storage.sql;
    this.acks.flush(); // the rules check the backlog
    const installed = installRules(sql, this.market, rules);
    if (!installed.ok) return installed;
    // Only a book's first configuration decides; a later one keeps what an operator set.
    if (options.selfSettle !== undefined) {
      // A market settling into Postgres keeps its money there: placements must come funded.
      if (readMeta(sql, "funds_required") === null) {
        writeMeta(sql, "funds_required", options.selfSettle);
        this.fundsRequired = options.selfSettle;
      }
      if (readMeta(sql, "self_settling") === null) await this.setSelfSettling(options.selfSettle);
    }
    return { ok: true, rules };
  }

  async getRules(): Promise<BookRules | null> {
    return this.market.rules?.book ?? null;
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

  // ---- balances ---------------------------------------------------------------------------

  /**
   * Balance changes the Worker committed in Postgres (settlement, releases), forwarded to the
   * users' sockets subscribed to `balances`; an update older than one already seen is dropped.
   * Returns the number of frames sent.
   */
  async publishBalances(updates: BalanceUpdate[]): Promise<{ sent: number }> {
    if (!Array.isArray(updates) || !this.market.rules) return { sent: 0 };
    return { sent: this.fanOut.publishBalances(updates, Date.now()) };
  }

  // ---- settlement and reconciliation ------------------------------------------------------

  async getOrder(query: { orderId?: string; clientOrderId?: string; userId?: string }): Promise<OrderLookup> {
    return this.market.lookup(query);
  }

  /** Unsettled entries after `afterSeq`, with the storage's epoch and last issued sequence. */
  async readOutbox(afterSeq = 0, limit = 500): Promise<OutboxRead & { backlog: number }> {
    const n = Math.max(1, Math.min(5_000, Math.floor(limit) || 500));
    this.acks.flush();
    return { ...this.outboxRead(afterSeq, n), backlog: this.acks.backlog() };
  }

  /** Deletes entries up to `uptoSeq`; an `epoch` not this storage's deletes nothing. */
  async ackOutbox(uptoSeq: number, epoch?: string): Promise<{ acknowledged: number }> {
    this.acks.flush();
    return { acknowledged: this.acknowledge(uptoSeq, epoch) };
  }

  /** What reconciliation compares with Postgres: the live orders and those settlement still owes. */
  async bookReport(): Promise<{ liveOrderIds: string[]; unsettledOrderIds: string[] }> {
    this.acks.flush();
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
    if (epoch === undefined || epoch === own) {
      this.counts.acknowledged(uptoSeq, Date.now());
      this.held.dropBelow(uptoSeq + 1);
    }
    return ackOutboxOf(this.ctx.storage.sql, uptoSeq, epoch, own);
  }

  /**
   * The object's own settler's acknowledgement (and an amendment's, settled in place): noted,
   * deleted with the next group's writes (market/outbox-acks.ts), not in a commit of its own.
   */
  private noteAck(uptoSeq: number, epoch: string | undefined): void {
    if (epoch !== undefined && epoch !== this.market.counters.epoch) return;
    this.counts.acknowledged(uptoSeq, Date.now());
    this.held.dropBelow(uptoSeq + 1);
    this.acks.note(uptoSeq);
  }

  /** This market's metrics for the scrape (GET /api/v1/admin/metrics); none before it has rules. */
  async metrics(): Promise<MetricSnapshot[]> {
    const m = this.market;
    if (!m.rules) return [];
    return this.counts.snapshot(m.symbol, {
      backlog: this.acks.backlog(),
      sockets: this.subs.sockets().length,
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

  // ---- market data (market-data/queries.ts) -----------------------------------------------

  /** A stream hub subscribes to this market's events; null while the market is unconfigured. */
  async attachStreamHub(hub: string): Promise<MarketStreamState | null> {
    return this.streams.attach(hub);
  }

  async depth(limit = MAX_DEPTH): Promise<DepthView | null> {
    return this.queries.depth(Math.max(1, Math.min(MAX_DEPTH, Math.floor(limit) || MAX_DEPTH)));
  }

  /** The whole book (tests and audits; not limited to 100 levels). */
  async fullDepth(): Promise<DepthView | null> {
    return this.queries.depth(Number.MAX_SAFE_INTEGER);
  }

  async trades(limit = 100): Promise<TradeView[]> {
    return this.queries.recentTrades(limit);
  }

  async candles(query: {
    interval: Interval;
    start?: number;
    end?: number;
    limit?: number;
  }): Promise<CandleView[]> {
    return this.queries.candles(query);
  }

  async ticker(): Promise<TickerView | null> {
    return this.queries.ticker(Date.now());
  }

  // ---- snapshots and the alarm ------------------------------------------------------------

  /**
   * Writes a snapshot of the engine as it is now and drops the journal the older kept snapshot
   * covers, over many turns (snapshots.ts): commands keep coming meanwhile. One at a time: a
   * call during a snapshot takes the next, after it.
   */
  async snapshotNow(): Promise<{ journalSeq: number }> {
    while (this.snapshotting) await this.snapshotting;
    const run = snapshotMarket(this.ctx.storage, this.market);
    const done = (): void => {
      this.snapshotting = null;
    };
    this.snapshotting = run.then(done, done);
    return run;
  }

  override async alarm(): Promise<void> {
    this.clock.fired();
    const now = Date.now();
    this.acks.flush();
    if (outboxWaiting(this.ctx.storage.sql)) this.settler.kick();
    if (this.clock.recheckDue(now) && (await this.sessions.recheck(now))) this.clock.scheduleRecheck();
    // Nothing new since the last snapshot: writing the same state again would only cost.
    if (
      this.clock.snapshotDue(now) &&
      latestSnapshotSeq(this.ctx.storage.sql) !== this.market.counters.journalSeq
    )
      await this.snapshotNow();
    this.clock.arm();
  }

  // ---- WebSockets (ws/socket-server.ts) ---------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    return this.sockets.upgrade(request);
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    await this.sockets.message(ws, data);
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    this.subs.drop(ws);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.subs.drop(ws);
  }
}
