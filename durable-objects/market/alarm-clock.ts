/**
 * The object's one alarm serves two clocks: the snapshot SNAPSHOT_DELAY_MS after the first
 * unsnapshotted change, and the re-check of authenticated sockets every SESSION_RECHECK_MS.
 * A clock at 0 is not due; after a restart both are 0 and `alarm` runs both (each is cheap
 * when nothing is due).
 */
export class AlarmClock {
  private snapshotDueAt = 0;
  private recheckDueAt = 0;
  /** What storage holds (0: none). */
  private alarmAt = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly snapshotDelayMs: number,
    private readonly recheckMs: number,
  ) {}

  /** Reads the alarm storage holds (call once, at start). */
  async load(): Promise<void> {
    this.alarmAt = (await this.storage.getAlarm()) ?? 0;
  }

  scheduleSnapshot(): void {
    if (this.snapshotDueAt) return;
    this.snapshotDueAt = Date.now() + this.snapshotDelayMs;
    this.arm();
  }

  scheduleRecheck(): void {
    if (this.recheckDueAt) return;
    this.recheckDueAt = Date.now() + this.recheckMs;
    this.arm();
  }

  /** The alarm fired (the stored alarm is gone). */
  fired(): void {
    this.alarmAt = 0;
  }

  /** Whether the re-check is due now; a due clock is reset (schedule again to re-arm). */
  recheckDue(now: number): boolean {
    if (this.recheckDueAt > now) return false;
    this.recheckDueAt = 0;
    return true;
  }

  /** Whether the snapshot is due now; a due clock is reset. */
  snapshotDue(now: number): boolean {
    if (this.snapshotDueAt > now) return false;
    this.snapshotDueAt = 0;
    return true;
  }

  /** Sets the alarm to the earlier clock, unless an alarm no later than that is already set. */
  arm(): void {
    const due = Math.min(this.snapshotDueAt || Infinity, this.recheckDueAt || Infinity);
    if (due === Infinity || (this.alarmAt && this.alarmAt <= due)) return;
    this.alarmAt = due;
    void this.storage.setAlarm(due);
  }
}
