import type { OrderPool } from "./order-pool";
import { RecordBuffer } from "./record-buffer";
import { F64_SHIFT, RECORD_SHIFT, WORDS } from "./record-layout";

/** Bytes a slot takes in the scratch: its record, its position, and the five cold columns when used. */
const HOT_BYTES = WORDS * 4 + 4;
const COLD_BYTES = 8 + 4 * 4;

/** Arrays a snapshot in progress reads and writes instead of the engine's: the pool's columns, and positions. */
export type SnapshotCopy = Pick<
  OrderPool,
  "i32" | "f64" | "peak" | "stopPrice" | "trailOffset" | "trailRef" | "oco"
> & {
  /** Each slot's position in the snapshot's order list (written by the encoder). */
  position: Int32Array;
};

/**
 * The memory an engine's snapshots reuse, one snapshot after another: the copy of the order
 * records (and cold columns) an encoder reads while the engine goes on, the positions, and the
 * output bytes. Fresh, these were ~22 MB a snapshot at 230k orders, whose first writes took a
 * page fault per 4 KB (beginSnapshot 25-36 ms in workerd's profile of the deep load, against a
 * few ms for a copy into memory already mapped) and whose release counted towards V8's next
 * full collection. The scratch grows with the book, with a quarter of headroom, and like the
 * pool it never shrinks; it is no more than a snapshot held while it ran. Copies and bytes
 * handed out are valid until the next snapshot begins.
 */
export class SnapshotScratch {
  private readonly memory: RecordBuffer;
  private out: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxSlots: number) {
    this.memory = new RecordBuffer(0, maxSlots * (HOT_BYTES + COLD_BYTES));
  }

  /** A copy of the pool's first `used` slots. */
  copy(pool: OrderPool, used: number): SnapshotCopy {
    const cold = pool.peak.length !== 0 ? used : 0;
    const need = used * HOT_BYTES + cold * COLD_BYTES;
    if (need > this.memory.byteLength) {
      const room = Math.min(this.maxSlots, Math.ceil(used * 1.25));
      this.memory.grow(Math.max(need, room * (HOT_BYTES + (cold !== 0 ? COLD_BYTES : 0))), true);
    }
    const whole = this.memory.int32();
    const buffer = whole.buffer;
    const i32 = whole.subarray(0, used << RECORD_SHIFT);
    i32.set(pool.i32.subarray(0, used << RECORD_SHIFT));
    let at = used * WORDS * 4;
    const peak = new Float64Array(buffer, at, cold);
    peak.set(pool.peak.subarray(0, cold));
    at += 8 * cold;
    const position = new Int32Array(buffer, at, used);
    at += 4 * used;
    const column = (from: Int32Array): Int32Array => {
      const to = new Int32Array(buffer, at, cold);
      to.set(from.subarray(0, cold));
      at += 4 * cold;
      return to;
    };
    return {
      i32,
      f64: new Float64Array(buffer, 0, used << F64_SHIFT),
      peak,
      stopPrice: column(pool.stopPrice),
      trailOffset: column(pool.trailOffset),
      trailRef: column(pool.trailRef),
      oco: column(pool.oco),
      position,
    };
  }

  /** The buffer a snapshot's bytes are written into, at least `bytes` long. */
  output(bytes: number): Uint8Array {
    return this.out.length >= bytes ? this.out : new Uint8Array(Math.ceil(bytes * 1.25));
  }

  /** Keeps the buffer a snapshot's bytes were written into (the writer may have grown it). */
  keep(out: Uint8Array): void {
    this.out = out;
  }
}
