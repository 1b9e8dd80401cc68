import { sql } from "drizzle-orm";
import { withDatabase } from "../../src/db/client";
import type { InFlight } from "./order-intake";

/**
 * What one funds lock carries through the fence (`place_orders`' first statement, migrations/0026;
 * `pass_lock_fence` of 0022 for the previous release): the market and the epoch it may lock under. The locker sets `mark` when the lock passed: a number below
 * every order that lock inserted.
 */
export interface FencePass {
  market: string;
  epoch: number;
  mark?: number;
}

/** What raising the fence found: orders an earlier lock left `new` in Postgres, and the new mark. */
export interface Raised {
  orphans: InFlight[];
  mark: number;
}

/** How long Postgres may take to raise (its lock wait, 5 s, included): below the intake's 10 s. */
const RAISE_TIMEOUT_MS = 8000;

interface RaiseAnswer {
  epoch: number | string;
  mark: number | string;
  orders: { order_id: string; user_id: string }[];
}

/**
 * The market's lock fence in Postgres (docs/decisions/0014-lock-fence-instead-of-in-flight-notes.md).
 * No funds lock leaves before this incarnation raised the fence; a lock it could not account for
 * (no answer, an error) lowers it again, so the next raise reads what that lock may have left.
 * A raise waits for every lock of an older epoch that passed the fence and refuses every later
 * one: what it reads of the market's `new` orders is final.
 */
export class LockFence {
  private epoch: number | null = null;
  /** The latest raise asked for (or lower): an answer to an earlier one is stale. */
  private generation = 0;
  /** The highest epoch this incarnation took: never goes back. */
  private highest = 0;

  constructor(private readonly env: Env) {}

  /** The pass for the next lock; null while the fence must be raised first. */
  pass(market: string): FencePass | null {
    return this.epoch === null ? null : { market, epoch: this.epoch };
  }

  /** A lock (or a raise) went unaccounted: no lock leaves before the next raise. */
  lower(): void {
    this.epoch = null;
    this.generation++;
  }

  /**
   * A new epoch for the market, then its orders locked (`new`) above `after` that the book may
   * not know (null: look for none), handed to `settle` (which abandons those the book does not
   * know) before the epoch is taken and the next lock may leave. A rare call (start-up, an
   * unaccounted lock): a connection of its own. An answer that comes after a later raise or a
   * lower was asked for (its caller timed out) does nothing: it could name a stale epoch, and
   * its orphans are read again by the latest raise (later groups' ids are never abandoned).
   */
  async raise(market: string, after: number | null, settle: (raised: Raised) => void): Promise<void> {
    this.epoch = null;
    const generation = ++this.generation;
    const answer = await withDatabase(this.env, (db) =>
      db.transaction(async (tx) => {
        // Bounded below the intake's 10 s wait, so the fence row is not held past it. Here, not
        // in the function: a function's own `SET statement_timeout` never bounds its caller's
        // statement (the timer starts with the statement).
        await tx.execute(sql.raw(`set local statement_timeout = ${RAISE_TIMEOUT_MS}`));
        const result = await tx.execute<{ r: RaiseAnswer }>(
          sql`select raise_lock_fence(${market}, ${after}::bigint) as r`,
        );
        return result.rows[0]!.r;
      }),
    );
    const epoch = Number(answer.epoch);
    if (generation !== this.generation || epoch <= this.highest) return;
    settle({
      mark: Number(answer.mark),
      orphans: answer.orders.map((o) => ({ orderId: o.order_id, userId: o.user_id })),
    });
    this.highest = epoch;
    this.epoch = epoch;
  }
}
