/**
 * A stream's push period (Binance's "update speed"): the first value after a quiet period goes
 * out at once, later ones within the period are merged and go out when it ends. Depth diffs
 * merge into one diff (`merge`), snapshots keep the latest.
 */
export class PushWindow<T> {
  private last = -Infinity;
  private pending: T | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly emit: (value: T) => void,
    private readonly merge: (pending: T, next: T) => T = (_, next) => next,
  ) {}

  push(value: T, now: number): void {
    if (this.pending === undefined && now - this.last >= this.periodMs) {
      this.last = now;
      this.emit(value);
      return;
    }
    this.pending = this.pending === undefined ? value : this.merge(this.pending, value);
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.last + this.periodMs - now));
  }

  /** Drops what is pending (no subscriber is left to receive it). */
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const value = this.pending;
    this.pending = undefined;
    if (value === undefined) return;
    this.last = Date.now();
    this.emit(value);
  }
}
