import { ackOutbox, outboxBacklog } from "./outbox";

/** How long a noted acknowledgement waits for a group's transaction before it commits alone. */
const ALONE_AFTER_MS = 100;

/**
 * The object's own settler's acknowledgements, deleted in the next group's storage transaction
 * instead of a commit of their own. Each commit is a WAL sync that stalls the object's thread
 * (locally an fsync, 2-3 ms at order.batch) and holds the output gate: the acknowledgements,
 * one per settlement batch and as many as the groups, doubled the commits of the order path.
 *
 * Deferring them is as safe as the settler's own deferral (settle-market.ts): the Postgres
 * cursor, committed with the batch, is what skips settled entries; an acknowledgement only
 * deletes entries the cursor already skips, and a crash before the delete leaves them to be
 * acknowledged again. No answer depends on one. Readers that count or list the outbox
 * (`backlog`, and the object's RPCs, which `flush` first) never see the entries noted here.
 */
export class OutboxAcks {
  /** The highest sequence acknowledged and not yet deleted. */
  private upto?: number;
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly aloneAfterMs = ALONE_AFTER_MS,
  ) {}

  /** Entries up to `uptoSeq` are settled: deleted by the next group's transaction, or soon alone. */
  note(uptoSeq: number): void {
    if (this.upto !== undefined && this.upto >= uptoSeq) return;
    this.upto = uptoSeq;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.aloneAfterMs);
  }

  /**
   * Deletes the noted entries; call inside a storage transaction. A failed delete is noted
   * again (the next transaction tries): an acknowledgement never fails the group it rides with.
   */
  apply(sql: SqlStorage): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const upto = this.upto;
    if (upto === undefined) return;
    this.upto = undefined;
    try {
      ackOutbox(sql, upto);
    } catch {
      this.note(upto);
    }
  }

  /** Deletes the noted entries in a transaction of their own (idle, or before a reader). */
  flush(): void {
    if (this.upto !== undefined) this.storage.transactionSync(() => this.apply(this.storage.sql));
  }

  /** Entries not yet acknowledged. */
  backlog(): number {
    return outboxBacklog(this.storage.sql, this.upto);
  }
}
