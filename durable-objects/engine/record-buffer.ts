/** A SharedArrayBuffer made with a maximum length (ES2024; the project's lib is ES2023). */
interface GrowableShared extends SharedArrayBuffer {
  readonly maxByteLength: number;
  grow(newLength: number): void;
}
const GrowableShared = SharedArrayBuffer as unknown as new (
  byteLength: number,
  options: { maxByteLength: number },
) => GrowableShared;

/** From this size on, a record buffer grows in place (below it, malloc recycles the copies' memory). */
export const IN_PLACE_BYTES = 1 << 20;
/**
 * Address space a buffer reserves at least, when `maxBytes` is larger (beyond it, it moves to a
 * reservation twice its size).
 */
const RESERVE_BYTES = 1 << 30;

/**
 * The memory of a pool of fixed-size records (orders, price levels), up to `maxBytes`. Small,
 * it is an ArrayBuffer that grows by copying into a larger one, as before. From
 * IN_PLACE_BYTES on, it is a growable SharedArrayBuffer (shared with no one) that reserves
 * its maximum and grows in place. A copy's fresh buffer costs a page fault per 4 KB page, old
 * part included, and faults are slow on a busy VM (12-15 µs each on this project's: the wide
 * benchmark's fresh engines took ~5,000-7,000 a run, ~15% of its CPU time, and the largest
 * growths 9-23 ms in one operation); growing in place took them to ~2,100 and the run's CPU
 * time down ~10%. The new part is still faulted in at once, by the growing operation: left to
 * the first record on each page, ~2,000 of wide's operations took a fault each (the engine's
 * own p99.99 1.6 -> 16 µs).
 *
 * Not a resizable ArrayBuffer: V8 compiles accesses through its views ~1.7x slower (such a
 * buffer can shrink under a view), while fixed-length views of a growable SharedArrayBuffer,
 * which never shrinks, compile like any typed array's. Nor `ArrayBuffer.prototype.transfer`
 * (see typed-arrays.ts). Small buffers stay ArrayBuffers because their copies are cheap and
 * malloc hands them recycled memory, where a fresh reservation's pages would fault again.
 *
 * Neither Node's memory counters nor V8's external-memory count see a SharedArrayBuffer's
 * memory (V8 leaves shared memory out of an isolate's count): `sharedBytes` reports it.
 */
export class RecordBuffer {
  private buffer: ArrayBuffer | GrowableShared;

  constructor(
    bytes: number,
    private readonly maxBytes: number,
    private readonly reserveBytes = RESERVE_BYTES,
  ) {
    this.buffer = new ArrayBuffer(bytes);
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** Bytes held in a growable SharedArrayBuffer, which process.memoryUsage() does not count. */
  get sharedBytes(): number {
    return this.buffer instanceof ArrayBuffer ? 0 : this.buffer.byteLength;
  }

  /** Whole-buffer views; views taken before a `grow` keep the old length (or the old buffer). */
  int32(): Int32Array {
    return new Int32Array(this.buffer, 0, this.buffer.byteLength >> 2);
  }
  float64(): Float64Array {
    return new Float64Array(this.buffer, 0, this.buffer.byteLength >> 3);
  }

  /**
   * Grows to `bytes` (at most `maxBytes`), keeping the contents; new bytes are 0. With
   * `prefault`, the new part is written at once, by a copy or in place (see typed-arrays.ts'
   * `resized`). A caller that writes all the new bytes at once (`prefault` false: a restore
   * sizing the records once) gets an ArrayBuffer as before while the buffer is not yet shared:
   * there is no chain of copies to save, and restoring the deep benchmark book into a growable
   * buffer measured 5-25% slower (noisy A/Bs, cause unknown).
   */
  grow(bytes: number, prefault: boolean): void {
    const old = this.buffer;
    if (old instanceof ArrayBuffer && (bytes < IN_PLACE_BYTES || !prefault)) {
      const to = new Uint8Array(bytes);
      to.set(new Uint8Array(old));
      if (prefault) to.fill(0, old.byteLength);
      this.buffer = to.buffer;
    } else if (!(old instanceof ArrayBuffer) && bytes <= old.maxByteLength) {
      const from = old.byteLength;
      old.grow(bytes);
      if (prefault) new Uint8Array(old, from).fill(0);
    } else {
      // Never less than asked for: a reservation below `bytes` would throw mid-command.
      const reserve = Math.max(bytes, Math.min(this.maxBytes, Math.max(this.reserveBytes, 2 * bytes)));
      const to = new GrowableShared(bytes, { maxByteLength: reserve });
      new Uint8Array(to).set(new Uint8Array(old));
      if (prefault) new Uint8Array(to, old.byteLength).fill(0);
      this.buffer = to;
    }
  }
}
