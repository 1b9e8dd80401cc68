import { Batch } from "./batch";
import type { CommandResult } from "../../src/domain/market/commands";
import type { Market } from "./market";
import type { MarketMetrics } from "./metrics";
import type { InFlight, IntakeStep } from "./order-intake";
import type { OutboxAcks } from "./outbox-acks";
import { persistBatch } from "./persist";

/** What a committed batch is handed to: fan-out, the snapshot clock, the settler. */
export interface BatchListener {
  committed(batch: Batch): void;
}

/**
 * Runs the intake's steps against the market in ONE storage transaction (journal, order rows,
 * outbox, market data), then hands the committed batch on. Also abandons what a funds lock left
 * that the book never took (found by raising the lock fence, ./lock-fence.ts), and the in-flight
 * notes that releases before the fence wrote before each lock (storage may still hold some).
 * The settler's acknowledgements noted since the last batch are deleted in the same transaction
 * (./outbox-acks.ts): one commit, not two.
 */
export class CommandRunner {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly market: () => Market,
    private readonly counts: MarketMetrics,
    private readonly listener: BatchListener,
    private readonly acks?: OutboxAcks,
  ) {}

  /** `mark`: the group's lock's (lock-fence.ts), kept so the next raise looks only above it. */
  run(steps: readonly IntakeStep[], mark: number | undefined): CommandResult[] {
    const m = this.market();
    const batch = new Batch(Date.now());
    const results: CommandResult[] = [];
    const sql = this.ctx.storage.sql;
    this.commit(() => {
      for (const { command, funding } of steps) results.push(m.execute(command, batch, funding));
      m.counters.lastUpdateId = m.depth.lastUpdateId;
      if (mark !== undefined) m.counters.lockMark = Math.max(m.counters.lockMark ?? 0, mark);
      persistBatch(sql, batch, m.candles.takeDirty(), m.counters);
      this.acks?.apply(sql);
    });
    this.counts.fills += batch.trades.length;
    this.counts.report(this.env.METRICS, m.symbol, batch.ts);
    this.listener.committed(batch);
    return results;
  }

  /**
   * Placements whose lock may have committed in Postgres and that the book never took: a
   * `rejected` entry each, so settlement releases whatever was locked (an order Postgres never
   * recorded is skipped there), and the id refused for good (`Market.abandon`; an id the book
   * knows is left alone). Their callers were told the placement failed, or never got an answer.
   * `mark`: a raise's, below which nothing is left to look for.
   */
  abandon(placements: readonly InFlight[], mark?: number): void {
    const m = this.market();
    const batch = new Batch(Date.now());
    const sql = this.ctx.storage.sql;
    this.commit(() => {
      for (const p of placements) m.abandon(p.orderId, p.userId, batch);
      if (mark !== undefined) m.counters.lockMark = Math.max(m.counters.lockMark ?? 0, mark);
      persistBatch(sql, batch, [], m.counters);
      this.acks?.apply(sql);
      sql.exec(
        "DELETE FROM in_flight WHERE order_id IN (SELECT value FROM json_each(?))",
        JSON.stringify(placements.map((p) => p.orderId)),
      );
    });
    this.listener.committed(batch);
  }

  /**
   * `write` in one storage transaction. It changes memory as it goes (the book, unbooked ids,
   * counters): when the transaction fails, memory is ahead of storage, so the object starts over
   * from storage rather than serve a lie (or keep a lock mark above orders it never abandoned).
   */
  private commit(write: () => void): void {
    try {
      this.ctx.storage.transactionSync(write);
    } catch (err) {
      this.ctx.abort("order book state diverged from storage");
      throw err;
    }
  }

  /** In-flight notes an earlier release left: placements locked but never journaled. */
  recover(): void {
    const inFlight = this.ctx.storage.sql
      .exec<{ order_id: string; user_id: string }>("SELECT order_id, user_id FROM in_flight")
      .toArray();
    if (inFlight.length) this.abandon(inFlight.map((r) => ({ orderId: r.order_id, userId: r.user_id })));
  }
}
