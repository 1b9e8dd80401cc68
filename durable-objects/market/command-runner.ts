import { Batch } from "./batch";
import type { CommandResult } from "../../src/domain/market/commands";
import type { Market } from "./market";
import type { MarketMetrics } from "./metrics";
import type { InFlight, IntakeStep } from "./order-intake";
import { persistBatch } from "./persist";
import { insertRows } from "./schema";

/** What a committed batch is handed to: fan-out, the snapshot clock, the settler. */
export interface BatchListener {
  committed(batch: Batch): void;
}

/**
 * Runs the intake's steps against the market in ONE storage transaction (journal, order rows,
 * outbox, market data), then hands the committed batch on. Also keeps the in-flight notes that
 * make a lock Postgres may or may not have taken recoverable; a flush's notes are written in the
 * same turn as the previous flush's run, so both reach storage in one commit.
 */
export class CommandRunner {
  /**
   * How many unfinished flushes noted each id. One note stands for all of them (a retry under
   * the same id can be in the next flush, noted before this one runs), so it is deleted only
   * when the last of them ran or was abandoned. Lost with memory, as the flushes are: `recover`.
   */
  private readonly noted = new Map<string, number>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly market: () => Market,
    private readonly counts: MarketMetrics,
    private readonly listener: BatchListener,
  ) {}

  run(steps: readonly IntakeStep[], locked: readonly InFlight[]): CommandResult[] {
    const m = this.market();
    const batch = new Batch(Date.now());
    const results: CommandResult[] = [];
    const sql = this.ctx.storage.sql;
    try {
      this.ctx.storage.transactionSync(() => {
        for (const { command, funding } of steps) results.push(m.execute(command, batch, funding));
        m.counters.lastUpdateId = m.depth.lastUpdateId;
        persistBatch(sql, batch, m.candles.takeDirty(), m.counters);
        this.clearInFlight(locked);
      });
    } catch (err) {
      // Memory may now be ahead of storage: start over from storage rather than serve a lie.
      this.ctx.abort("order book state diverged from storage");
      throw err;
    }
    this.counts.fills += batch.trades.length;
    this.counts.report(this.env.METRICS, m.symbol, batch.ts);
    this.listener.committed(batch);
    return results;
  }

  /** Notes placements whose funds are about to be locked, durably, before Postgres is asked. */
  markInFlight(placements: readonly InFlight[]): void {
    for (const p of placements) this.noted.set(p.orderId, (this.noted.get(p.orderId) ?? 0) + 1);
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
   * skipped there), and the id refused for good (`Market.abandon`). The caller was told the
   * placement failed, or never got an answer.
   */
  abandon(placements: readonly InFlight[]): void {
    const m = this.market();
    const batch = new Batch(Date.now());
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const p of placements) m.abandon(p.orderId, p.userId, batch);
      persistBatch(sql, batch, [], m.counters);
      this.clearInFlight(placements);
    });
    this.listener.committed(batch);
  }

  /** Drops the notes of these placements that no later flush noted as well. */
  private clearInFlight(placements: readonly InFlight[]): void {
    const done: string[] = [];
    for (const { orderId } of placements) {
      const left = (this.noted.get(orderId) ?? 1) - 1;
      if (left > 0) this.noted.set(orderId, left);
      else {
        this.noted.delete(orderId);
        done.push(orderId);
      }
    }
    if (!done.length) return;
    this.ctx.storage.sql.exec(
      "DELETE FROM in_flight WHERE order_id IN (SELECT value FROM json_each(?))",
      JSON.stringify(done),
    );
  }

  /** In-flight notes an earlier incarnation left: placements locked but never journaled. */
  recover(): void {
    const inFlight = this.ctx.storage.sql
      .exec<{ order_id: string; user_id: string }>("SELECT order_id, user_id FROM in_flight")
      .toArray();
    if (inFlight.length) this.abandon(inFlight.map((r) => ({ orderId: r.order_id, userId: r.user_id })));
  }
}
